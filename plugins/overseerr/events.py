"""The events this plugin publishes: a media request was made or changed."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from medianest.plugins import Event, EventPayload


class MediaRequestPayload(EventPayload):
    request_id: int = Field(description="the request's id (`/api/v1/media/requests/<id>`)")
    title: str = Field(description="the film's or series' title")
    media_type: Literal["movie", "tv"] = Field(description="a film (`movie`) or a series (`tv`)")
    status: str = Field(description="the request's status (`pending`, `approved`, `available`, ...)")


EVENTS = [
    Event("media.request.created", MediaRequestPayload, description="A person requested a film or series."),
    Event(
        "media.request.updated",
        MediaRequestPayload,
        description="A request's status changed (in MediaNest, or in Overseerr through its webhook).",
    ),
]
