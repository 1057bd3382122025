"""The dashboard card: the user's active downloads, the queue, storage against the quota."""

from __future__ import annotations

from typing import Any

from medianest_youtube import downloads


def card_context(user) -> dict[str, Any]:
    conf = downloads.cfg()
    positions = downloads.queue_positions()
    active = [downloads.public(row, positions) for row in downloads.active_for(user.id)]
    used = downloads.storage_used(user.id, conf)
    quota = conf.quota_bytes
    return {
        "active": active,
        "queue_length": len(positions),
        "used_bytes": used,
        "quota_bytes": quota,
        "used_percent": min(100.0, 100.0 * used / quota) if quota else None,
    }
