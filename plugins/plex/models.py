"""The plex plugin's tables: posters Plex itself named, and downloads on their way into a collection."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from medianest.plugins.db import db, utcnow


def path_digest(path: str) -> str:
    return hashlib.sha256(path.encode("utf-8")).hexdigest()


class PlexImagePath(db.Model):
    """An image path that appeared in one of Plex's answers: the only kind the poster route fetches."""

    __tablename__ = "plex_image_paths"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class DownloadCollection(db.Model):
    """A finished download being put into a Plex collection (one row per download, kept when it fails)."""

    __tablename__ = "plex_download_collections"

    STATUSES = ("queued", "scanning", "done", "failed")

    download_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(500), default="")
    folder: Mapped[str | None] = mapped_column(Text)
    files: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    section_key: Mapped[str | None] = mapped_column(String(32))
    collection_key: Mapped[str | None] = mapped_column(String(32))
    collection_title: Mapped[str | None] = mapped_column(String(500))
    item_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    missing: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    polls: Mapped[int] = mapped_column(Integer, default=0)
    waited_seconds: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    scan_requested_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def url(self) -> str | None:
        return f"/plex/collections/{self.collection_key}" if self.collection_key else None

    def to_public(self) -> dict[str, Any]:
        return {
            "download_id": self.download_id,
            "user_id": self.user_id,
            "title": self.title,
            "status": self.status,
            "collection_key": self.collection_key,
            "collection_title": self.collection_title,
            "url": self.url,
            "items": len(self.item_keys or []),
            "missing": self.missing,
            "attempts": self.attempts,
            "error": self.error,
            "updated_at": self.updated_at.isoformat() + "Z" if self.updated_at else None,
        }
