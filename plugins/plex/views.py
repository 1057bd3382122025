"""Pages under /plex/ and JSON under /api/v1/plex/."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from medianest_plex import browse, cache, home, posters
from medianest_plex.config import SERVICE
from medianest_plex.downloads import collect_download
from medianest_plex.models import DownloadCollection
from pydantic import BaseModel, Field, field_validator

from medianest.plugins.access import admin_required, login_required, owned_or_404, plex_token_for
from medianest.plugins.api import ApiError, Schema, api_route, field_errors, ok, pagination_meta
from medianest.plugins.cache import poster_response
from medianest.plugins.db import AuditEvent, ServiceStatus, db
from medianest.plugins.settings import MASK, save_service_config

bp = Blueprint("plex", __name__, template_folder="templates")

MAX_PER_PAGE = browse.MAX_PER_PAGE
MAX_SEARCH = 50
TAGS = ["plex"]


# ------------------------------------------------------------------ schemas
class PlexPageQuery(Schema):
    """Paging; a page size above the maximum is lowered to it, not refused."""

    page: int = Field(default=1, ge=1, le=100_000)
    per_page: int = Field(default=50, ge=1, description=f"at most {MAX_PER_PAGE}; larger values are capped")

    @field_validator("per_page")
    @classmethod
    def _cap(cls, value: int) -> int:
        return min(value, MAX_PER_PAGE)


class PlexItemsQuery(PlexPageQuery):
    sort: Literal["title", "year", "added"] = "title"
    order: Literal["asc", "desc"] | None = Field(default=None, description="default: asc for title, desc otherwise")

    @property
    def direction(self) -> str:
        return self.order or ("asc" if self.sort == "title" else "desc")


class PlexCollectionsQuery(PlexPageQuery):
    library: str | None = Field(default=None, max_length=40, description="a library key; all libraries when left out")


class PlexSearchQuery(Schema):
    query: str = Field(min_length=1, max_length=200)
    limit: int = Field(default=20, ge=1, description=f"per kind of result; at most {MAX_SEARCH}")

    @field_validator("limit")
    @classmethod
    def _cap(cls, value: int) -> int:
        return min(value, MAX_SEARCH)

    @field_validator("query")
    @classmethod
    def _words(cls, value: str) -> str:
        words = " ".join(value.split())  # also the control characters Python counts as spaces
        if not words:
            raise ValueError("type a few letters of a title")
        return words


class PlexLibrary(BaseModel):
    key: str
    title: str
    type: str
    refreshing: bool
    updated_at: str | None
    scanned_at: str | None
    url: str


class PlexItem(BaseModel):
    key: str
    type: str
    title: str
    year: int | None
    summary: str
    added_at: str | None
    library_key: str | None
    library_title: str | None
    child_count: int | None
    poster: str | None = Field(description="a MediaNest URL; the browser never talks to Plex")
    url: str


class PlexSearchResult(PlexItem):
    hub: str


class PlexItemDetails(PlexItem):
    tagline: str | None
    content_rating: str | None
    studio: str | None
    rating: float | None
    duration_minutes: int | None
    released: str | None
    genres: list[str]
    directors: list[str]
    art: str | None


class PlexDownloadCollection(BaseModel):
    download_id: str
    user_id: int | None
    title: str
    status: Literal["queued", "scanning", "done", "failed"]
    collection_key: str | None
    collection_title: str | None
    url: str | None
    items: int
    missing: int
    attempts: int
    error: str | None
    updated_at: str | None


class PlexHomeItem(BaseModel):
    key: str | None
    title: str = Field(description='as shown: "Title (1999)" or "Show — S1 · E2"')
    progress: int | None = Field(description="how far it was watched or played, in percent")
    poster: str | None = Field(description="a MediaNest URL; the browser never talks to Plex")
    url: str | None


class PlexHomeShelf(BaseModel):
    key: str
    title: str
    items: list[PlexHomeItem]


class PlexStream(PlexHomeItem):
    session: str | None
    who: str = Field(description="the MediaNest name of the person watching, else their Plex name")
    player: str | None
    state: str = Field(description="the player's state: playing, paused, buffering")
    decision: Literal["direct", "copy", "transcode"] = Field(
        description="direct play, direct stream (copy) or transcoding"
    )
    local: bool | None


class PlexHomeAnswer(BaseModel):
    checked: bool = Field(description="whether Plex has been read at all yet")
    down: bool = Field(description="Plex did not answer (or its health check says so): this is the last good answer")
    error: str | None
    stored_at: str | None = Field(default=None, description="when Plex gave this answer")
    age_seconds: int | None = None


class PlexRecentlyAdded(PlexHomeAnswer):
    shelves: list[PlexHomeShelf]


class PlexContinueWatching(PlexHomeAnswer):
    signed_in_with_plex: bool = Field(description="false for a local account: there is no Plex token to ask with")
    items: list[PlexHomeItem]


class PlexNowPlaying(PlexHomeAnswer):
    streams: list[PlexStream]


class PlexTokenSaved(BaseModel):
    token: str = Field(description="always the mask: the token itself is never sent back")
    source: str


# ------------------------------------------------------------------ JSON
@bp.get("/api/v1/plex/libraries")
@api_route(response=list[PlexLibrary], summary="Plex libraries", tags=TAGS)
@login_required
def api_libraries():
    """The server's libraries (cached briefly)."""
    return ok(browse.libraries())


@bp.get("/api/v1/plex/libraries/<key>/items")
@api_route(query=PlexItemsQuery, response=list[PlexItem], paginated=True, summary="A library's items", tags=TAGS)
@login_required
def api_library_items(key: str, query: PlexItemsQuery):
    """One page of a library's items, sorted by title, year or date added."""
    items, total = browse.library_items(key, query.page, query.per_page, query.sort, query.direction)
    return ok(items, meta=pagination_meta(query.page, query.per_page, total))


@bp.get("/api/v1/plex/collections")
@api_route(query=PlexCollectionsQuery, response=list[PlexItem], paginated=True, summary="Collections", tags=TAGS)
@login_required
def api_collections(query: PlexCollectionsQuery):
    """The collections of one library (``library=<key>``) or of every library."""
    items, total = browse.collections(query.library, query.page, query.per_page)
    return ok(items, meta=pagination_meta(query.page, query.per_page, total))


@bp.get("/api/v1/plex/collections/<key>/items")
@api_route(query=PlexPageQuery, response=list[PlexItem], paginated=True, summary="A collection's items", tags=TAGS)
@login_required
def api_collection_items(key: str, query: PlexPageQuery):
    """The items of one collection."""
    browse.collection(key)
    items, total = browse.collection_items(key, query.page, query.per_page)
    return ok(items, meta=pagination_meta(query.page, query.per_page, total))


@bp.get("/api/v1/plex/items/<key>")
@api_route(response=PlexItemDetails, summary="An item's details", tags=TAGS)
@login_required
def api_item(key: str):
    """One film, show, collection or video."""
    return ok(browse.item(key))


@bp.get("/api/v1/plex/search")
@api_route(query=PlexSearchQuery, response=list[PlexSearchResult], summary="Search every library", tags=TAGS)
@login_required
def api_search(query: PlexSearchQuery):
    """Search across the libraries; each result names its kind (``hub``)."""
    return ok(browse.search(query.query, query.limit))


def _download_row(download_id: str) -> DownloadCollection:
    row = db.session.get(DownloadCollection, download_id[:64])
    return owned_or_404(row, "That download's collection")


@bp.get("/api/v1/plex/downloads/<download_id>/collection")
@api_route(response=PlexDownloadCollection, summary="Where a download went in Plex", tags=TAGS)
@login_required
def api_download_collection(download_id: str):
    """The collection a finished download was put into (or why it could not be)."""
    return ok(_download_row(download_id).to_public())


@bp.post("/api/v1/plex/downloads/<download_id>/collection/retry")
@api_route(response=PlexDownloadCollection, status=202, summary="Try the collection again", tags=TAGS)
@login_required
def api_download_collection_retry(download_id: str):
    """Start over with a download whose collection failed."""
    row = _download_row(download_id)
    _retry_collection(row)
    return ok(row.to_public(), status=202)


def _retry_collection(row: DownloadCollection) -> None:
    if row.status != "failed":
        raise ApiError("CONFLICT", f"That download's collection is {row.status}, not failed.")
    row.status, row.attempts, row.polls, row.waited_seconds = "queued", 0, 0, 0
    row.error, row.scan_requested_at = None, None
    db.session.commit()
    collect_download.delay(row.download_id)


# The collection step as a fragment for the download's page (which loads it when the download is
# finished); nothing (204) when the download has no collection, e.g. Plex is not configured.
@bp.get("/plex/downloads/<download_id>/collection")
@login_required
def download_collection_fragment(download_id: str):
    """Where a finished download is in Plex: waiting, scanning, done (with the link) or failed (with a retry)."""
    row = db.session.get(DownloadCollection, download_id[:64])
    if row is None or (not current_user.is_admin and row.user_id != current_user.id):
        return make_response("", 204)
    response = make_response(render_template("plex/_download_collection.html", c=row.to_public(), row=row))
    response.vary.add("HX-Request")
    return response


@bp.post("/plex/downloads/<download_id>/collection/retry")
@login_required
def download_collection_retry_form(download_id: str):
    """Retry from the download's page."""
    row = _download_row(download_id)
    try:
        _retry_collection(row)
    except ApiError as exc:
        flash(exc.message, "error")
    if request.headers.get("HX-Request"):
        return download_collection_fragment(download_id)
    return redirect(request.referrer or url_for("plex.index"), 303)


# ------------------------------------------------------------------ the home
STATE_FIELDS = ("checked", "down", "error", "stored_at", "age_seconds")
ITEM_FIELDS = tuple(PlexHomeItem.model_fields)
STREAM_FIELDS = tuple(PlexStream.model_fields)


def _home(context: dict) -> dict:
    if not context.get("configured"):
        raise ApiError(
            "NOT_CONFIGURED",
            "Plex is not set up yet: an admin enters its URL and token in the settings.",
            details={"service": SERVICE},
        )
    return {name: context.get(name) for name in STATE_FIELDS}


def _pick(line: dict, fields: tuple[str, ...]) -> dict:
    return {name: line.get(name) for name in fields}


@bp.get("/api/v1/plex/home/recently-added")
@api_route(response=PlexRecentlyAdded, summary="The newest items of each library", tags=TAGS)
@login_required
def api_recently_added():
    """What the *Recently added* card shows: read by a periodic task, never a live call."""
    context = home.recently_added_context()
    shelves = [
        {"key": s["key"], "title": s["title"], "items": [_pick(i, ITEM_FIELDS) for i in s["items"]]}
        for s in context.get("shelves", [])
    ]
    return ok({**_home(context), "shelves": shelves})


@bp.get("/api/v1/plex/home/continue-watching")
@api_route(response=PlexContinueWatching, summary="What I was watching in Plex", tags=TAGS)
@login_required
def api_continue_watching():
    """What the *Continue watching* card shows: read with the caller's own Plex sign-in by a periodic task."""
    context = home.continue_watching_context(current_user)
    answer = {**_home(context), "signed_in_with_plex": bool(context.get("signed_in_with_plex"))}
    if not answer["signed_in_with_plex"]:
        answer.update(checked=False, down=False, error=None)
    return ok({**answer, "items": [_pick(i, ITEM_FIELDS) for i in context.get("items", [])]})


@bp.get("/api/v1/plex/home/now-playing")
@api_route(response=PlexNowPlaying, summary="Who watches what on the Plex server now", tags=TAGS)
@admin_required
def api_now_playing():
    """What the admins' *Now playing* card shows: the last answer of ``/status/sessions``."""
    context = home.now_playing_context()
    return ok({**_home(context), "streams": [_pick(s, STREAM_FIELDS) for s in context.get("sessions", [])]})


def _token_from_sign_in() -> None:
    token = plex_token_for(current_user.id)
    if not token:
        raise ApiError("CONFLICT", "You have not signed in with Plex, so there is no Plex token to use.", 409)
    save_service_config(SERVICE, {"token": token}, {"token"})
    db.session.add(
        AuditEvent(
            actor_id=current_user.id,
            actor_name=current_user.name,
            action="service.update",
            target=SERVICE,
            details={"fields": ["token"], "source": "the admin's Plex sign-in"},
        )
    )
    db.session.commit()
    cache.invalidate()


@bp.post("/api/v1/plex/token-from-sign-in")
@api_route(response=PlexTokenSaved, summary="Use my Plex sign-in as the server token", tags=TAGS)
@admin_required
def api_token_from_sign_in():
    """Fill the server token from the signed-in admin's own Plex token."""
    _token_from_sign_in()
    return ok({"token": MASK, "source": "plex sign-in"})


# ------------------------------------------------------------------ pages
def parse_query(model: type[Schema]) -> Schema:
    """A page's query string through the API's schema (``fragment`` is the pages' own)."""
    from pydantic import ValidationError

    values = {k: v for k, v in request.args.items() if k != "fragment"}
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise ApiError(
            "VALIDATION_ERROR",
            "The address has a value this page cannot use.",
            details={"fields": field_errors(exc, "query")},
        ) from None


def _fragment_or_page(template: str, **context):
    """The whole page, or only the list items when htmx asks for the next page."""
    fragment = bool(request.htmx) and request.args.get("fragment") == "items"
    response = make_response(render_template("plex/_items.html" if fragment else template, **context))
    response.vary.add("HX-Request")
    return response


@bp.get("/plex/")
@login_required
def index():
    """The libraries."""
    return render_template("plex/libraries.html", libraries=browse.libraries())


@bp.get("/plex/libraries/<key>")
@login_required
def library_page(key: str):
    """A library's items, a page at a time (htmx loads the next page as you scroll)."""
    query = parse_query(PlexItemsQuery)
    library = browse.library(key)
    items, total = browse.library_items(key, query.page, query.per_page, query.sort, query.direction)
    return _fragment_or_page(
        "plex/library.html",
        library=library,
        items=items,
        total=total,
        query=query,
        more=query.page * query.per_page < total,
        page_url=lambda page: url_for(
            "plex.library_page", key=key, page=page, per_page=query.per_page, sort=query.sort, order=query.direction
        ),
    )


@bp.get("/plex/libraries/<key>/collections")
@login_required
def library_collections_page(key: str):
    """A library's collections."""
    query = parse_query(PlexPageQuery)
    library = browse.library(key)
    items, total = browse.collections(key, query.page, query.per_page)
    return _fragment_or_page(
        "plex/collections.html",
        library=library,
        items=items,
        total=total,
        query=query,
        more=query.page * query.per_page < total,
        page_url=lambda page: url_for("plex.library_collections_page", key=key, page=page, per_page=query.per_page),
    )


@bp.get("/plex/collections/<key>")
@login_required
def collection_page(key: str):
    """A collection and its items."""
    query = parse_query(PlexPageQuery)
    collection = browse.collection(key)
    items, total = browse.collection_items(key, query.page, query.per_page)
    return _fragment_or_page(
        "plex/collection.html",
        collection=collection,
        items=items,
        total=total,
        query=query,
        more=query.page * query.per_page < total,
        page_url=lambda page: url_for("plex.collection_page", key=key, page=page, per_page=query.per_page),
    )


@bp.get("/plex/items/<key>")
@login_required
def item_page(key: str):
    """One item's details."""
    found = browse.item(key)
    if found["type"] == "collection":
        return redirect(url_for("plex.collection_page", key=key))
    return render_template("plex/item.html", item=found)


@bp.get("/plex/search")
@login_required
def search_page():
    """Search every library; htmx swaps only the results while typing."""
    text = (request.args.get("query") or "").strip()
    results = browse.search(text[:200], 20) if text else []
    groups: dict[str, list] = {}
    for found in results:
        groups.setdefault(found["hub"] or "Results", []).append(found)
    template = "plex/search_results.html" if request.htmx else "plex/search.html"
    response = make_response(render_template(template, query=text, groups=groups, searched=bool(text)))
    response.vary.add("HX-Request")
    return response


@bp.get("/plex/poster")
@login_required
def poster():
    """A poster, scaled by Plex and kept on disk; only paths Plex gave are fetched."""
    path = request.args.get("path", "")

    def size(name: str, default: int) -> int:
        raw = request.args.get(name, "")
        return posters.snap(int(raw) if raw.isdigit() else None, default)

    return poster_response(*posters.poster(path, size("w", 240), size("h", 360)))


@bp.get("/plex/settings")
@admin_required
def settings_page():
    """The Plex connection: what the last check saw, and "use my Plex sign-in"."""
    status = db.session.get(ServiceStatus, SERVICE)
    return render_template("plex/settings.html", status=status.to_public() if status else None)


@bp.post("/plex/settings/token-from-sign-in")
@admin_required
def settings_token_from_sign_in():
    """The settings page's "use my Plex sign-in" button."""
    try:
        _token_from_sign_in()
        flash("The Plex server token now comes from your Plex sign-in.", "success")
    except ApiError as exc:
        flash(exc.message, "error")
    return redirect(url_for("plex.settings_page"))
