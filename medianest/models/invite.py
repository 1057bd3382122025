"""One-time links an admin sends to bring someone into the household."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from medianest.extensions import db
from medianest.models.user import utcnow


class Invite(db.Model):
    """An invitation: the link carries a random token; only its SHA-256 is stored.

    It works once, until ``expires_at``, unless an admin revokes it.  The
    person it reaches chooses a local account with a password of their own,
    or signs in with Plex (the invitation then lets that Plex account in).
    """

    __tablename__ = "invites"

    STATES = ("pending", "used", "expired", "revoked")
    DEFAULT_DAYS = 7
    MAX_DAYS = 90

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16), default="user")
    # Who it is for, in the admin's words ("Grandma"); also the new account's display name.
    note: Mapped[str | None] = mapped_column(String(255))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None]

    def state(self, now: datetime | None = None) -> str:
        if self.used_at is not None:
            return "used"
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= (now or utcnow()):
            return "expired"
        return "pending"

    def to_public(self) -> dict:
        def stamp(value: datetime | None) -> str | None:
            return value.isoformat() + "Z" if value else None

        return {
            "id": self.id,
            "role": self.role,
            "note": self.note,
            "state": self.state(),
            "created_by_id": self.created_by_id,
            "created_at": stamp(self.created_at),
            "expires_at": stamp(self.expires_at),
            "used_at": stamp(self.used_at),
            "used_by_id": self.used_by_id,
            "revoked_at": stamp(self.revoked_at),
        }
