"""What the media routes accept and answer (one schema validates and documents each)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from medianest.plugins.api import CursorQuery, RowId, Schema

MAX_QUERY = 100
MAX_SEASON = 500


class SearchQuery(Schema):
    query: str = Field(min_length=1, max_length=MAX_QUERY, description="Words of a film's or series' title")
    page: int = Field(default=1, ge=1, le=500)

    @field_validator("query")
    @classmethod
    def _words(cls, value: str) -> str:
        words = " ".join(value.split())  # also the control characters Python counts as spaces
        if not words:
            raise ValueError("type a few words of a title")
        return words


class RequestListQuery(CursorQuery):
    user_id: RowId | None = Field(default=None, description="Admins only: whose requests (default: your own)")
    everyone: bool = Field(default=False, description="Admins only: every user's requests")
    status: (
        Literal[
            "submitting", "pending", "approved", "partially_available", "available", "declined", "failed", "removed"
        ]
        | None
    ) = None


class NewRequest(Schema):
    media_type: Literal["movie", "tv"]
    tmdb_id: int = Field(ge=1, le=2_000_000_000, description="The title's TMDB id")
    seasons: list[int] | Literal["all"] | None = Field(
        default=None, description='Series only: season numbers, or "all" (the default)'
    )

    @field_validator("seasons")
    @classmethod
    def _seasons(cls, value: list[int] | str | None) -> list[int] | str | None:
        if isinstance(value, list):
            if not value:
                raise ValueError('choose at least one season, or "all"')
            if any(n < 0 or n > MAX_SEASON for n in value):
                raise ValueError(f"season numbers are between 0 and {MAX_SEASON}")
            if len(set(value)) != len(value):
                raise ValueError("a season is listed twice")
        return value

    @model_validator(mode="after")
    def _film_has_no_seasons(self) -> NewRequest:
        if self.media_type == "movie" and self.seasons is not None:
            raise ValueError("a film has no seasons: leave 'seasons' out")
        return self


class SearchResultOut(BaseModel):
    media_type: Literal["movie", "tv"]
    tmdb_id: int
    title: str
    year: int | None
    overview: str
    poster_url: str | None
    state: str = Field(description="none, pending, processing, partially_available, available or blacklisted")
    requestable: bool
    action: str = Field(description="What the request button does, in words")


class MediaRequestOut(BaseModel):
    id: int
    user_id: int
    user_name: str | None
    media_type: str
    tmdb_id: int
    title: str
    year: int | None
    poster_url: str | None
    seasons: list[int] | None
    all_seasons: bool
    overseerr_id: int | None
    status: str
    status_label: str
    plex_url: str | None = Field(default=None, description="the title in the Plex web app, once Plex has it")
    made_as_admin: bool
    created_at: str | None
    updated_at: str | None
    synced_at: str | None


class WebhookOut(BaseModel):
    notification_type: str
    result: str = Field(description="updated, unchanged, ignored or test")
    request_ids: list[int]
    note: str
