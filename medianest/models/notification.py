"""A person's inbox, and the channels (Apprise URLs) their notifications also go out through."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from medianest.extensions import db
from medianest.models.user import utcnow


class Notification(db.Model):
    """One line of a person's inbox: what happened, how it went, where to look."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_id_id", "user_id", "id"),
        Index("ix_notifications_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(64), default="message")
    level: Mapped[str] = mapped_column(String(16), default="info")
    message: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]

    def to_public(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "level": self.level,
            "message": self.message,
            "link": self.link,
            "created_at": self.created_at.isoformat() + "Z",
            "read": self.read_at is not None,
            "read_at": self.read_at.isoformat() + "Z" if self.read_at else None,
        }


class NotificationChannel(db.Model):
    """Where a person's notifications also go: an Apprise URL, stored encrypted.

    ``user_id`` is ``None`` for the household's channel (set by an admin), which
    receives the outage notices.  ``kinds`` lists the notification kinds sent
    here.  A delivery that fails after its retries marks the channel failing
    with the error; the next success clears it.
    """

    __tablename__ = "notification_channels"
    # Associated data of every URL's ciphertext (medianest.keyring).
    URL_PURPOSE = "notification-channel.url"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    url_ciphertext: Mapped[str] = mapped_column(Text)
    kinds: Mapped[list] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(default=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_failed_at: Mapped[datetime | None]
    last_sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
