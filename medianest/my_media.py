""" "My media": everything a person asked for, whatever the path, and what it became.

The core names no plugin: each contributes its part through the
``media_items`` hook (requests from Overseerr, downloads from YouTube, ...),
and this page merges them newest first, filters them by state (in progress,
ready, failed) and pages them.  A person sees their own; an admin may look
at anyone's (``?user_id=``).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Literal

from flask import Blueprint, current_app, make_response, render_template, request
from flask_login import current_user
from pydantic import BaseModel, Field

from medianest.access import login_required
from medianest.api import ApiError, PageQuery, RowId, api_route, ok, pagination_meta
from medianest.extensions import db
from medianest.models import User
from medianest.plugins.types import MediaItem

bp = Blueprint("my_media", __name__)

PER_PAGE = 24
State = Literal["in_progress", "ready", "failed"]
STATE_LABELS = {"in_progress": "In progress", "ready": "Ready", "failed": "Failed"}


class MediaQuery(PageQuery):
    state: State | None = Field(default=None, description="only what is `in_progress`, `ready` or `failed`")
    user_id: RowId | None = Field(default=None, description="another person's (admins only); yours when left out")


class MediaItemOut(BaseModel):
    source: str = Field(description="the product it came through, as people know it")
    id: str
    title: str
    state: str
    status: str
    progress: float | None
    created_at: str
    link: str | None
    poster: str | None
    plex_url: str | None = Field(description="the Plex item or collection it became")
    plex_title: str | None
    detail: str | None


def whose(user_id: int | None) -> User:
    """The person whose media to show: yourself, or (admins) anyone; else a clear refusal."""
    if user_id is None or user_id == current_user.id:
        return db.session.get(User, current_user.id)
    if not current_user.is_admin:
        raise ApiError("FORBIDDEN", "Only admins may look at another person's media.")
    person = db.session.get(User, user_id)
    if person is None:
        raise ApiError("NOT_FOUND", "No such person.")
    return person


def items_of(person: User, state: str | None = None) -> list[MediaItem]:
    host = current_app.extensions["medianest.plugins"]
    items = [item for _plugin, item in host.collect("media_items", user=person) if isinstance(item, MediaItem)]
    if state:
        items = [i for i in items if i.state == state]
    return sorted(items, key=lambda i: i.created_at, reverse=True)


def public(item: MediaItem) -> dict[str, Any]:
    data = asdict(item)
    data.pop("refresh_events")
    data["created_at"] = item.created_at.isoformat() + "Z"
    return data


def _page_of(items: list[MediaItem], page: int, per_page: int) -> tuple[list[MediaItem], dict[str, Any]]:
    start = (page - 1) * per_page
    meta = pagination_meta(page, per_page, len(items))
    return items[start : start + per_page], meta


@bp.get("/me/media")
@login_required
def page():
    """What you asked for and what it became: requests, downloads, and their Plex items."""
    try:
        query = MediaQuery.model_validate({k: v for k, v in request.args.items() if v != ""})
    except ValueError:
        raise ApiError("VALIDATION_ERROR", "Filter by in progress, ready or failed.") from None
    person = whose(query.user_id)
    everything = items_of(person)
    chosen = [i for i in everything if not query.state or i.state == query.state]
    shown, meta = _page_of(chosen, query.page, PER_PAGE)
    events = sorted({e for i in everything for e in i.refresh_events})
    fragment = bool(request.headers.get("HX-Request"))
    body = render_template(
        "my_media/index.html",
        fragment=fragment,
        items=[public(i) for i in shown],
        pagination=meta["pagination"],
        state=query.state,
        states=STATE_LABELS,
        person=person,
        people=db.session.scalars(db.select(User).order_by(User.username)).all() if current_user.is_admin else [],
        refresh_events=events,
        counts={s: sum(1 for i in everything if i.state == s) for s in STATE_LABELS},
    )
    response = make_response(body)
    response.headers["Vary"] = "HX-Request"
    return response


@bp.get("/api/v1/me/media")
@api_route(query=MediaQuery, response=list[MediaItemOut], paginated=True, summary="Your media", tags=["media"])
@login_required
def api_media(query: MediaQuery):
    """Everything you asked for, newest first: Overseerr requests with their status, downloads with their
    progress, and the Plex item or collection each became. Admins may pass ``user_id``."""
    items = items_of(whose(query.user_id), query.state)
    shown, meta = _page_of(items, query.page, query.per_page)
    return ok([public(i) for i in shown], meta)
