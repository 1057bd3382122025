"""The events this plugin publishes: one per step of a download's life."""

from __future__ import annotations

from pydantic import Field

from medianest.plugins import Event, EventPayload


class DownloadPayload(EventPayload):
    download_id: int = Field(description="the download's id (`/api/v1/youtube/downloads/<id>`)")
    status: str = Field(description="`queued`, `running`, `completed`, `failed` or `cancelled`")
    title: str = Field(description="the video's or playlist's title (its URL until known)")
    percent: float = Field(description="how much is downloaded, 0 to 100")
    entry_index: int | None = Field(description="which playlist entry is downloading (from 1)")
    entry_count: int | None = Field(description="how many entries the playlist has")
    entry_title: str | None = Field(description="the title of the entry downloading")
    speed: float | None = Field(description="bytes per second")
    eta: int | None = Field(description="seconds left, as yt-dlp estimates")
    files: list[str] = Field(description="the files written so far, as paths on the server")
    failures: list[dict] = Field(description="playlist entries that failed, with why")
    error: str | None = Field(description="why the download failed")
    queue_position: int | None = Field(default=None, description="place in the queue (`queued` only)")
    folder: str | None = Field(default=None, description="the folder the files are in (`completed` only)")


WHEN = {
    "queued": "A download was added to the queue (or retried).",
    "progress": "A running download moved on (at most a few times a second).",
    "completed": "A download finished; its files are in `folder`.",
    "failed": "A download stopped with an error.",
    "cancelled": "The owner or an admin cancelled a download.",
}

EVENTS = [Event(f"youtube.download.{step}", DownloadPayload, description=text) for step, text in WHEN.items()]
