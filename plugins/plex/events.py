"""The events this plugin publishes."""

from __future__ import annotations

from pydantic import Field

from medianest.plugins import Event, EventPayload


class CollectionReadyPayload(EventPayload):
    download_id: str = Field(description="the YouTube download the collection was made from (its id, as text)")
    collection_key: str = Field(description="the collection's rating key in Plex")
    collection_title: str = Field(description="the collection's title in Plex")
    url: str = Field(description="the collection's page in MediaNest")
    plex_url: str | None = Field(
        default=None, description="the collection in the Plex web app (app.plex.tv), to open it in Plex"
    )


COLLECTION_READY = Event(
    "plex.collection.ready",
    CollectionReadyPayload,
    description="A finished YouTube download is in Plex as a collection.",
)
