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


class NowPlayingPayload(EventPayload):
    streams: int = Field(description="how many streams are playing (or paused) on the Plex server")
    transcoding: int = Field(description="how many of them Plex is transcoding")
    titles: list[str] = Field(description='what is playing, as shown: "Title (1999)" or "Show — S1 · E2"')
    problem: str | None = Field(description="why Plex could not be asked (`null` when it answered)")
    checked_at: str = Field(description="when Plex was asked (ISO 8601, UTC)")


NOW_PLAYING = Event(
    "plex.now_playing",
    NowPlayingPayload,
    audience="admins",
    description="What is playing on the Plex server changed (a stream started, stopped, paused, "
    "switched between direct play and transcoding or moved on by 5 %), or Plex stopped answering.",
)


class RecentlyAddedPayload(EventPayload):
    libraries: int = Field(description="how many libraries the card shows")
    items: int = Field(description="how many items it shows, all libraries together")
    problem: str | None = Field(description="why Plex could not be asked (`null` when it answered)")
    checked_at: str = Field(description="when Plex was asked (ISO 8601, UTC)")


RECENTLY_ADDED = Event(
    "plex.recently_added",
    RecentlyAddedPayload,
    audience="everyone",
    description="The newest items of the Plex libraries changed, or Plex stopped answering; `user_id` is null.",
)


class ContinueWatchingPayload(EventPayload):
    items: int = Field(description="how many half-watched items the person has")
    problem: str | None = Field(description="why Plex could not be asked (`null` when it answered)")
    checked_at: str = Field(description="when Plex was asked (ISO 8601, UTC)")


CONTINUE_WATCHING = Event(
    "plex.continue_watching",
    ContinueWatchingPayload,
    audience="user",
    description="What the person named by `user_id` was watching in Plex changed (read with their own Plex "
    "sign-in), or Plex stopped answering.",
)
