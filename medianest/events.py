"""The event bus: one name space for plugins, Socket.IO and webhooks.

``publish(name, payload)`` hands the event to every plugin that subscribed to
it, then to Socket.IO, which pushes it to the browser rooms allowed to see it.
It works the same from a web request and from a Celery worker (which reaches
the web processes through the Redis message queue).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import current_app

from medianest.extensions import socketio
from medianest.metrics import EVENTS_PUBLISHED

log = logging.getLogger("medianest.events")

# Events the core itself publishes; plugins declare theirs with ``published_events``.
CORE_EVENTS = ("service.status", "notification", "user.deleted")

HOUSEHOLD_ROOM = "household"
ADMINS_ROOM = "admins"


class UnknownEvent(ValueError):
    """Nobody declared this event name."""


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


def rooms_for(name: str, payload: dict[str, Any]) -> list[str]:
    """Which Socket.IO rooms may see this event (DESIGN.md, "Events")."""
    user_id = payload.get("user_id")
    if name == "service.status" or user_id is None:
        return [HOUSEHOLD_ROOM]
    if name == "notification":
        return [user_room(user_id)]
    return [user_room(user_id), ADMINS_ROOM]


def known_events() -> set[str]:
    return set(current_app.extensions["medianest.events"])


def publish(name: str, payload: dict[str, Any]) -> None:
    """Deliver ``payload`` to the plugins subscribed to ``name`` and to the browser.

    ``payload`` must be a JSON-serialisable dict carrying ``user_id`` (``None``
    for a household-wide event).  Raises :class:`UnknownEvent` for a name no
    one declared, and ``ValueError`` for a payload without ``user_id``.
    """
    if name not in known_events():
        raise UnknownEvent(f"event {name!r} is not declared by the core or any plugin")
    if "user_id" not in payload:
        raise ValueError(f"event {name!r}: payload needs a user_id (None for everyone)")
    message = json.loads(json.dumps(payload, default=str))

    host = current_app.extensions["medianest.plugins"]
    for plugin_name, handler in current_app.extensions["medianest.subscriptions"].get(name, []):
        if not host.is_active(plugin_name):
            continue
        try:
            handler(message)
        except Exception:
            log.exception("event handler of plugin %s failed for %s", plugin_name, name)

    EVENTS_PUBLISHED.labels(event=name).inc()
    try:
        socketio.emit(name, message, to=rooms_for(name, message), namespace="/")
    except Exception:  # the browser copy is best-effort; the database holds the truth
        log.exception("could not push %s to Socket.IO", name)


def notify(user_id: int | None, message: str, level: str = "info", link: str | None = None) -> None:
    """Publish a ``notification`` (a toast in the user's browser)."""
    publish("notification", {"user_id": user_id, "level": level, "message": message, "link": link})
