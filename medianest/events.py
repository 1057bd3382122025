"""The event bus: one name space for plugins, Socket.IO and webhooks.

``publish(name, payload)`` hands the event to every plugin that subscribed to
it, then to Socket.IO, which pushes it to the browser rooms allowed to see it.
It works the same from a web request and from a Celery worker (which reaches
the web processes through the Redis message queue).

Every event is declared by the part that owns it (the core or one plugin,
through the ``published_events`` hook) as an :class:`Event`: its name, a
pydantic model of its payload and who may receive it in the browser.  The
payload is validated when it is published.  An invalid one is a programming
error: it raises :class:`InvalidEventPayload` while the app is in testing or
debug mode, and in production it is logged (with the event's name, its owner
and what was wrong) and dropped, so a bad payload never reaches a subscriber
or a browser.  ``docs/events.md`` is generated from these declarations
(``python -m medianest.event_docs``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Literal

from flask import current_app
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from medianest.extensions import socketio
from medianest.metrics import EVENTS_PUBLISHED

log = logging.getLogger("medianest.events")

HOUSEHOLD_ROOM = "household"
ADMINS_ROOM = "admins"

# Who may receive an event in the browser (the rooms the server joined them to).
Audience = Literal["everyone", "user", "owner_and_admins", "admins"]
AUDIENCES: dict[str, str] = {
    "everyone": "every signed-in user",
    "user": "the user named by `user_id` (everyone when it is `null`)",
    "owner_and_admins": "the user named by `user_id` and the admins (everyone when it is `null`)",
    "admins": "the admins only (whatever `user_id` says)",
}


class UnknownEvent(ValueError):
    """Nobody declared this event name."""


class InvalidEventPayload(ValueError):
    """A payload that does not match its event's declared model."""

    def __init__(self, name: str, owner: str, error: ValidationError) -> None:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or 'payload'}: {item['msg']}" for item in error.errors()
        )
        super().__init__(f"event {name!r} (declared by {owner!r}): invalid payload: {problems}")
        self.event = name
        self.owner = owner
        self.errors = error.errors()


class EventPayload(BaseModel):
    """The base of every event's payload.

    Subclass it and add the fields the event carries, each with a type and a
    ``Field(description=...)``; the reference in ``docs/events.md`` is built
    from them.  Fields not declared are refused.
    """

    model_config = ConfigDict(extra="forbid")

    user_id: int | None = Field(description="the user the event is about; `null` for a household-wide event")


class UntypedPayload(EventPayload):
    """The payload of an event declared by name only (any fields besides ``user_id``)."""

    model_config = ConfigDict(extra="allow")


@dataclass(frozen=True)
class Event:
    """An event one part of MediaNest publishes, as returned by the ``published_events`` hook.

    ``name`` is dotted and starts with the owner's name (``youtube.download.completed``);
    ``payload`` is an :class:`EventPayload` subclass; ``audience`` says which
    browsers receive it (``everyone``, the ``user`` named by ``user_id``,
    that user and the admins: ``owner_and_admins``, or the ``admins`` only);
    ``description`` says when
    it is published.
    """

    name: str
    payload: type[EventPayload]
    audience: Audience = "owner_and_admins"
    description: str = ""

    def __post_init__(self) -> None:
        if self.audience not in AUDIENCES:
            raise ValueError(f"event {self.name!r}: audience must be one of {', '.join(AUDIENCES)}")
        if not (isinstance(self.payload, type) and issubclass(self.payload, EventPayload)):
            raise TypeError(f"event {self.name!r}: payload must be a subclass of EventPayload")


def declared(item: Event | str) -> Event:
    """An ``Event`` for what a ``published_events`` hook returned (a bare name is untyped)."""
    if isinstance(item, Event):
        return item
    return Event(str(item), UntypedPayload)


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


def rooms_for(name: str, payload: dict[str, Any], audience: Audience | None = None) -> list[str]:
    """Which Socket.IO rooms may see this event (DESIGN.md, "Events")."""
    if audience is None:
        spec = current_app.extensions.get("medianest.event_types", {}).get(name)
        audience = spec.audience if spec else "owner_and_admins"
    user_id = payload.get("user_id")
    if audience == "admins":
        return [ADMINS_ROOM]
    if audience == "everyone" or user_id is None:
        return [HOUSEHOLD_ROOM]
    if audience == "user":
        return [user_room(user_id)]
    return [user_room(user_id), ADMINS_ROOM]


def known_events() -> set[str]:
    return set(current_app.extensions["medianest.events"])


def _strict() -> bool:
    return bool(current_app.testing or current_app.debug)


def checked_payload(name: str, payload: dict[str, Any] | BaseModel) -> dict[str, Any] | None:
    """The JSON form of ``payload`` once it matches the declared model of ``name``.

    Raises :class:`UnknownEvent` for a name no one declared.  An invalid payload
    raises :class:`InvalidEventPayload` in testing and debug mode, and is logged
    and answered with ``None`` (drop it) in production.
    """
    owners = current_app.extensions["medianest.events"]
    if name not in owners:
        raise UnknownEvent(f"event {name!r} is not declared by the core or any plugin")
    spec = current_app.extensions.get("medianest.event_types", {}).get(name) or declared(name)
    if isinstance(payload, BaseModel):
        payload = payload.model_dump(mode="json", exclude_unset=True)
    try:
        model = spec.payload.model_validate(json.loads(json.dumps(payload, default=str)))
    except ValidationError as exc:
        error = InvalidEventPayload(name, owners[name], exc)
        if _strict():
            raise error from None
        log.error("%s; the event was dropped", error)
        return None
    return model.model_dump(mode="json", exclude_unset=True)


def publish(name: str, payload: dict[str, Any] | BaseModel) -> None:
    """Deliver ``payload`` to the plugins subscribed to ``name`` and to the browser.

    ``payload`` is a dict (or an instance of the event's payload model) that
    matches the model the event was declared with, ``user_id`` included
    (``None`` for a household-wide event).  Raises :class:`UnknownEvent` for a
    name no one declared; see :func:`checked_payload` for an invalid payload.
    """
    message = checked_payload(name, payload)
    if message is None:
        return

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


class NotificationPayload(EventPayload):
    level: Literal["info", "success", "warning", "error"] = Field(description="how the toast looks")
    message: str = Field(description="the text shown to the person, in their words")
    link: str | None = Field(default=None, description="where the toast leads, if anywhere")
    kind: str = Field(
        default="message",
        description="what it is about (`request.available`, `download.failed`, ...): which channels take it",
    )


NOTIFICATION = Event(
    "notification",
    NotificationPayload,
    audience="user",
    description="Something a person should know: a line in their inbox, a toast in their open pages and a message "
    "on their channels (everyone's when `user_id` is null).",
)


def notify(
    user_id: int | None, message: str, level: str = "info", link: str | None = None, kind: str = "message"
) -> None:
    """Publish a ``notification``: a line in the person's inbox (everyone's for ``None``), a toast in
    their open pages, and a message on their channels that take ``kind`` (``medianest.notifications``)."""
    publish("notification", {"user_id": user_id, "level": level, "message": message, "link": link, "kind": kind})
