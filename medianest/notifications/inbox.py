"""Each person's inbox: the ``notification`` events, kept.

Every ``notification`` published on the bus (by the core, a built-in or a
third-party plugin) lands here first, as one row per person it names (every
active person for a household-wide one), then reaches the open pages as a
toast and the bell's count, and goes out through the person's channels.
Rows older than the retention an admin sets (90 days by default) are purged
by a periodic task.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, update

from medianest.extensions import db
from medianest.models import InstallationValue, Notification, User, utcnow

log = logging.getLogger("medianest.notifications")

# The kinds MediaNest itself produces, with the words a person sees when picking
# which go to a channel.  A plugin may use kinds of its own (``<plugin>.<what>``).
KINDS: dict[str, str] = {
    "request.approved": "A request was approved",
    "request.declined": "A request was declined",
    "request.available": "A request is available",
    "request.failed": "A request failed",
    "request.removed": "A request was removed",
    "download.finished": "A download finished",
    "download.failed": "A download failed",
    "download.in_plex": "A download is in Plex as a collection",
    "service.down": "A service is down (admins)",
    "service.up": "A service is back up (admins)",
    "user.first_sign_in": "Someone signed in for the first time (admins)",
    "plugin.failed": "A plugin failed (admins)",
    "message": "Other messages",
}
ADMIN_KINDS = frozenset({"service.down", "service.up", "user.first_sign_in", "plugin.failed"})
LEVELS = ("info", "success", "warning", "error")

RETENTION_KEY = "notifications.retention_days"
DEFAULT_RETENTION_DAYS = 90
MAX_MESSAGE = 2000
MAX_LINK = 2048


def retention_days() -> int:
    stored = InstallationValue.get(RETENTION_KEY)
    try:
        return max(1, int(stored)) if stored is not None else DEFAULT_RETENTION_DAYS
    except ValueError:
        return DEFAULT_RETENTION_DAYS


def set_retention_days(days: int) -> None:
    db.session.merge(InstallationValue(key=RETENTION_KEY, value=str(int(days))))
    db.session.commit()


def _recipients(user_id: int | None) -> list[int]:
    if user_id is not None:
        return [user_id] if db.session.get(User, user_id) is not None else []
    return list(db.session.scalars(select(User.id).where(User.status == "active")))


def keep(payload: dict[str, Any]) -> list[Notification]:
    """The bus handler of ``notification``: one inbox row per person the event names."""
    message = str(payload.get("message") or "").strip()
    if not message:
        return []
    level = payload.get("level") if payload.get("level") in LEVELS else "info"
    link = payload.get("link")
    link = str(link)[:MAX_LINK] if link else None
    kind = str(payload.get("kind") or "message")[:64]
    rows = [
        Notification(user_id=uid, kind=kind, level=level, message=message[:MAX_MESSAGE], link=link)
        for uid in _recipients(payload.get("user_id"))
    ]
    db.session.add_all(rows)
    db.session.commit()
    return rows


def unread_count(user_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        or 0
    )


def inbox_select(user_id: int, unread_only: bool = False):
    """Newest first by id (ids grow with time): the order keyset paging walks."""
    query = select(Notification).where(Notification.user_id == user_id).order_by(Notification.id.desc())
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return query


def mark_read(user_id: int, notification_id: int) -> Notification | None:
    """Mark one of this person's notifications read; ``None`` when it is not theirs (or gone)."""
    row = db.session.get(Notification, notification_id)
    if row is None or row.user_id != user_id:
        return None
    if row.read_at is None:
        row.read_at = utcnow()
        db.session.commit()
    return row


def mark_all_read(user_id: int) -> int:
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    db.session.commit()
    return result.rowcount or 0


def purge(now=None) -> int:
    """Delete notifications older than the retention; returns how many went."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days())
    result = db.session.execute(delete(Notification).where(Notification.created_at < cutoff))
    db.session.commit()
    if result.rowcount:
        log.info("purged %s notifications older than %s", result.rowcount, cutoff.date())
    return result.rowcount or 0
