"""A person's downloads as "My media" lines: progress while they run, their Plex collection once there."""

from __future__ import annotations

from flask import url_for
from medianest_youtube.models import ACTIVE, COMPLETED, Download
from sqlalchemy import select

from medianest.plugins import MediaItem
from medianest.plugins.db import db

LIMIT = 200
EVENTS = tuple(f"youtube.download.{n}" for n in ("queued", "progress", "completed", "failed", "cancelled")) + (
    "plex.collection.ready",
)


def _status(row: Download) -> tuple[str, str]:
    if row.status in ACTIVE:
        if row.status == "queued":
            return "in_progress", "Waiting"
        return "in_progress", f"Downloading {round(row.percent or 0)} %"
    if row.status == COMPLETED:
        return "ready", "In Plex" if row.collection_url else "Downloaded"
    if row.status == "cancelled":
        return "failed", "Cancelled"
    return "failed", "Failed"


def media_items(user) -> list[MediaItem]:
    rows = db.session.scalars(
        select(Download).where(Download.user_id == user.id).order_by(Download.id.desc()).limit(LIMIT)
    )
    items = []
    for row in rows:
        state, status = _status(row)
        detail = row.error if state == "failed" else None
        if state == "in_progress" and row.entry_count:
            detail = f"Video {row.entry_index or 1} of {row.entry_count}"
        items.append(
            MediaItem(
                source="YouTube",
                id=f"download-{row.id}",
                title=row.title or row.url,
                state=state,
                status=status,
                created_at=row.created_at,
                progress=round(row.percent or 0.0, 1) if state == "in_progress" else None,
                link=url_for("youtube.detail", download_id=row.id),
                plex_url=row.collection_url,
                plex_title="Plex collection" if row.collection_url else None,
                detail=detail,
                refresh_events=EVENTS,
            )
        )
    return items
