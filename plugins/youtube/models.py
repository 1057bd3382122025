"""A download: one video or playlist someone asked for. The row is the truth; the broker only carries it."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, validates

from medianest.plugins.db import db, utcnow

QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED = "queued", "running", "completed", "failed", "cancelled"
STATUSES = (QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED)
ACTIVE = (QUEUED, RUNNING)
FINISHED = (COMPLETED, FAILED, CANCELLED)

FORMATS = {
    "best": "Best available",
    "1080p": "Up to 1080p",
    "720p": "Up to 720p",
    "audio": "Audio only",
}


# One active download per person and URL, kept by the database so two processes cannot both pass the check.
ACTIVE_URL_WHERE = text("status IN ('queued', 'running')")


def url_key(url: str) -> str:
    """A fixed-length key for ``url``: scheme and host are case-insensitive, the rest (query included) is not.

    A hash rather than the URL itself, because a URL of 2048 non-ASCII
    characters is larger than a PostgreSQL B-tree entry may be.
    """
    parts = urlsplit(url)
    normal = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, parts.query, parts.fragment))
    return hashlib.sha256(normal.encode("utf-8", "surrogatepass")).hexdigest()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None


class Download(db.Model):
    __tablename__ = "youtube_downloads"
    __table_args__ = (
        Index("ix_youtube_downloads_status_id", "status", "id"),
        Index("ix_youtube_downloads_user_id_status", "user_id", "status"),
        Index(
            "uq_youtube_downloads_active_url",
            "user_id",
            "url_key",
            unique=True,
            postgresql_where=ACTIVE_URL_WHERE,
            sqlite_where=ACTIVE_URL_WHERE,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    url_key: Mapped[str | None] = mapped_column(String(64))  # follows ``url``, see :func:`url_key`
    format: Mapped[str] = mapped_column(String(16), default="best")
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    # What the running job is doing: waiting (for a worker), listing, downloading, finishing.
    phase: Mapped[str | None] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(String(500))
    folder: Mapped[str | None] = mapped_column(String(255))  # relative to the user's folder
    entry_count: Mapped[int | None]
    entry_index: Mapped[int | None]  # 1-based, the entry being downloaded
    entry_title: Mapped[str | None] = mapped_column(String(500))
    percent: Mapped[float] = mapped_column(Float, default=0.0)
    speed: Mapped[float | None] = mapped_column(Float)  # bytes per second
    eta: Mapped[int | None]  # seconds
    files: Mapped[list | None] = mapped_column(JSON)  # [{name, size, index, title}]
    failures: Mapped[list | None] = mapped_column(JSON)  # [{index, title, url, error}]
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    task_id: Mapped[str | None] = mapped_column(String(64))
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    collection_key: Mapped[str | None] = mapped_column(String(100))
    collection_url: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]

    @validates("url")
    def _keep_url_key(self, _name: str, value: str) -> str:
        self.url_key = url_key(value) if value is not None else None
        return value

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    @property
    def format_label(self) -> str:
        return FORMATS.get(self.format, self.format)


# The columns the API shows, in the order ``public_fields`` takes them.
PUBLIC_COLUMNS = (
    "id",
    "user_id",
    "url",
    "format",
    "status",
    "phase",
    "title",
    "entry_count",
    "entry_index",
    "entry_title",
    "percent",
    "speed",
    "eta",
    "files",
    "failures",
    "error",
    "attempts",
    "cancel_requested",
    "collection_url",
    "created_at",
    "started_at",
    "finished_at",
)


def public_fields(values: Sequence[Any], queue_position: int | None = None, folder: str | None = None) -> dict:
    """What the API shows of a download, from the values of :data:`PUBLIC_COLUMNS` in that order.

    A list builds 25 of these per call from rows it reads by position: a
    tuple unpacked into names costs a fraction of a lookup by name per field.
    ``folder`` is the download's full path (the row keeps it relative).
    """
    (
        download_id,
        user_id,
        url,
        fmt,
        status,
        phase,
        title,
        entry_count,
        entry_index,
        entry_title,
        percent,
        speed,
        eta,
        files,
        failures,
        error,
        attempts,
        cancel_requested,
        collection_url,
        created_at,
        started_at,
        finished_at,
    ) = values
    files = files or []
    return {
        "id": download_id,
        "user_id": user_id,
        "url": url,
        "format": fmt,
        "status": status,
        "phase": phase,
        "title": title,
        "folder": folder,
        "entry_count": entry_count,
        "entry_index": entry_index,
        "entry_title": entry_title,
        "percent": round(percent or 0.0, 1),
        "speed": speed,
        "eta": eta,
        "queue_position": queue_position,
        "files": [
            {"n": n, "name": f["name"], "size": f.get("size"), "title": f.get("title"), "index": f.get("index")}
            for n, f in enumerate(files)
        ],
        "total_bytes": sum(f.get("size") or 0 for f in files),
        "failures": failures or [],
        "error": error,
        "attempts": attempts,
        "cancel_requested": cancel_requested,
        "collection_url": collection_url,
        "created_at": _iso(created_at),
        "started_at": _iso(started_at),
        "finished_at": _iso(finished_at),
    }


def public_values(row: Download) -> tuple[Any, ...]:
    """A ``Download``'s values of :data:`PUBLIC_COLUMNS`, in that order (for ``public_fields``)."""
    return tuple(getattr(row, name) for name in PUBLIC_COLUMNS)


class UserFolder(db.Model):
    """The name of a person's folder under the download root, chosen once and never changed.

    Plex libraries and collections point at the files by path, so a folder
    must keep its name when its owner renames themselves.  No foreign key:
    the row outlives the account long enough for ``user.deleted`` to find the
    folder it removes.
    """

    __tablename__ = "youtube_user_folders"

    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
