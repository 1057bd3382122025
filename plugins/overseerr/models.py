"""MediaNest's own record of every request it made to Overseerr."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from medianest.plugins.db import User, db, utcnow

# What a request can be, in the household's words.
STATUS_LABELS = {
    "submitting": "Sending to Overseerr",
    "pending": "Pending approval",
    "approved": "Approved, on its way",
    "partially_available": "Partly available",
    "available": "Available",
    "declined": "Declined",
    "failed": "Failed",
    "removed": "Removed in Overseerr",
}
# Nothing more will happen to a request in one of these (the reconcile task skips them).
FINAL_STATUSES = ("available", "declined", "removed")
# Recorded, and sent to Overseerr, whose answer has not come (yet).
SUBMITTING = "submitting"
# How far along its life a request is. Webhook deliveries arrive late and out of order, so a
# webhook never moves a request to an earlier stage; Overseerr's own answer (the reconcile) may.
STAGES = {
    "submitting": -1,
    "pending": 0,
    "approved": 1,
    "declined": 1,
    "failed": 1,
    "partially_available": 2,
    "available": 3,
    "removed": 4,
}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() + "Z" if moment else None


class MediaRequest(db.Model):
    __tablename__ = "overseerr_media_requests"
    __table_args__ = (
        Index("ix_overseerr_media_requests_user_created", "user_id", "created_at"),
        Index("ix_overseerr_media_requests_status", "status"),
        Index("ix_overseerr_media_requests_media", "media_type", "tmdb_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    media_type: Mapped[str] = mapped_column(String(8))  # "movie" | "tv"
    tmdb_id: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(500))
    year: Mapped[int | None] = mapped_column(Integer)
    poster_url: Mapped[str | None] = mapped_column(String(1024))
    seasons: Mapped[list | None] = mapped_column(JSON)  # season numbers, or None for a film / "all"
    all_seasons: Mapped[bool] = mapped_column(default=False)
    overseerr_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    overseerr_user_id: Mapped[int | None] = mapped_column(Integer)
    as_admin: Mapped[bool] = mapped_column(default=False)  # made with the admin account (user not matched)
    status: Mapped[str] = mapped_column(String(24), default="pending")
    status_message: Mapped[str | None] = mapped_column(Text)
    plex_url: Mapped[str | None] = mapped_column(String(1000))  # the title in Plex, as Overseerr links it
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    synced_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status.replace("_", " ").capitalize())

    @property
    def kind_label(self) -> str:
        return "Film" if self.media_type == "movie" else "Series"

    @property
    def seasons_label(self) -> str:
        if self.media_type != "tv":
            return ""
        if self.all_seasons or not self.seasons:
            return "All seasons"
        numbers = sorted(self.seasons)
        return ("Season " if len(numbers) == 1 else "Seasons ") + ", ".join(str(n) for n in numbers)

    def to_public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user_id": self.user_id,
            "user_name": self.user.name if self.user else None,
            "media_type": self.media_type,
            "tmdb_id": self.tmdb_id,
            "title": self.title,
            "year": self.year,
            "poster_url": self.poster_url,
            "seasons": sorted(self.seasons) if self.seasons else None,
            "all_seasons": self.all_seasons,
            "overseerr_id": self.overseerr_id,
            "status": self.status,
            "status_label": self.status_label,
            "plex_url": self.plex_url,
            "made_as_admin": self.as_admin,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "synced_at": _iso(self.synced_at),
        }
