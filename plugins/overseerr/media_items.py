"""A person's requests as "My media" lines: what they asked for and how far it got."""

from __future__ import annotations

from flask import url_for
from medianest_overseerr.models import MediaRequest
from sqlalchemy import select

from medianest.plugins import MediaItem
from medianest.plugins.db import db

LIMIT = 200
STATES = {
    "submitting": "in_progress",
    "pending": "in_progress",
    "approved": "in_progress",
    "partially_available": "ready",
    "available": "ready",
    "declined": "failed",
    "failed": "failed",
    "removed": "failed",
}
EVENTS = ("media.request.created", "media.request.updated")


def media_items(user) -> list[MediaItem]:
    rows = db.session.scalars(
        select(MediaRequest).where(MediaRequest.user_id == user.id).order_by(MediaRequest.id.desc()).limit(LIMIT)
    )
    link = url_for("overseerr.requests_page")
    items = []
    for row in rows:
        year = f" ({row.year})" if row.year else ""
        items.append(
            MediaItem(
                source="Overseerr",
                id=f"request-{row.id}",
                title=f"{row.title}{year}",
                state=STATES.get(row.status, "in_progress"),
                status=row.status_label,
                created_at=row.created_at,
                link=link,
                poster=row.poster_url,
                plex_url=row.plex_url if STATES.get(row.status) == "ready" else None,
                detail=row.status_message,
                refresh_events=EVENTS,
            )
        )
    return items
