"""Media search and requests: the JSON API under ``/api/v1/media`` and the pages under ``/media``.

One route serves a page or, for htmx, just its fragment (``Vary: HX-Request``).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Blueprint,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from medianest_overseerr import config, media_requests, posters, webhook
from medianest_overseerr.config import RATE_LIMIT
from medianest_overseerr.media_requests import client, service_state, what_a_request_does
from medianest_overseerr.models import STATUS_LABELS, MediaRequest
from medianest_overseerr.schemas import (
    MAX_QUERY,
    MediaRequestOut,
    NewRequest,
    RequestListQuery,
    SearchQuery,
    SearchResultOut,
    WebhookOut,
)
from pydantic import ValidationError

from medianest.plugins.access import (
    admin_exempt_from_limits,
    admin_required,
    csrf_exempt,
    limiter,
    login_required,
    owned_or_404,
    public,
    rate_limit_exempt,
    rate_limit_value,
)
from medianest.plugins.api import ApiError, api_route, ok, paginate
from medianest.plugins.cache import poster_response
from medianest.plugins.db import User, db

log = logging.getLogger("medianest.overseerr")

bp = Blueprint("overseerr", __name__, template_folder="templates")


def _media_request_limit() -> str:
    return rate_limit_value(RATE_LIMIT)


def _counts(response) -> bool:
    # The page's htmx answers are 200 whatever happened; X-MediaNest-Status says what did.
    status = int(response.headers.get("X-MediaNest-Status") or response.status_code)
    return status < 400 and not g.get("overseerr_request_refused_early")


# Requests from the page and from the API share one budget per user; only a
# request made counts (refused by MediaNest or by Overseerr costs nothing),
# and admins pass unless MEDIANEST_RATE_LIMIT_EXEMPT_ADMINS is false.
media_request_limit = limiter.shared_limit(
    _media_request_limit, scope="media-requests", deduct_when=_counts, exempt_when=admin_exempt_from_limits
)


def _is_htmx() -> bool:
    return bool(request.htmx)


def _vary(response):
    response.headers["Vary"] = "HX-Request"
    return response


# ------------------------------------------------------------------ shared logic
OFFLINE_WORDS = {
    "offline": "Overseerr is offline",
    "unconfigured": "Overseerr is not set up",
}


def decorate(results: list[dict[str, Any]], user: User, state: str) -> list[dict[str, Any]]:
    """Add ``requestable`` and ``action`` (what the button will do) to each search result."""
    overseerr = client()
    words: dict[str, str] = {}
    decorated = []
    for item in results:
        media_type = item["media_type"]
        if media_type not in words:
            words[media_type] = what_a_request_does(user, overseerr, media_type)
        requestable, action = _action(item, words[media_type], state)
        decorated.append({**item, "requestable": requestable, "action": action})
    return decorated


def _action(item: dict[str, Any], happens: str, service: str) -> tuple[bool, str]:
    title_state = item["state"]
    is_film = item["media_type"] == "movie"
    if title_state == "available":
        return False, "Already available"
    if title_state == "blacklisted":
        return False, "Cannot be requested"
    if is_film and title_state == "pending":
        return False, "Requested, waiting for approval"
    if is_film and title_state == "processing":
        return False, "Requested, on its way"
    if service in OFFLINE_WORDS:
        return False, OFFLINE_WORDS[service]
    if happens == "unmatched":
        return False, "Link your Overseerr account first"
    if is_film:
        return True, f"Request film ({happens})"
    verb = (
        "Request missing seasons"
        if title_state in ("partially_available", "processing", "pending")
        else "Choose seasons"
    )
    return True, f"{verb} ({happens})"


def _search(query: str, page: int) -> dict[str, Any]:
    answer = client().search(query, page)
    return {**answer, "results": decorate(answer["results"], current_user, service_state())}


def _requests_query(query: RequestListQuery):
    # Newest first by id (ids grow with time): the order keyset paging walks.
    stmt = db.select(MediaRequest).order_by(MediaRequest.id.desc())
    if query.everyone or (query.user_id is not None and query.user_id != current_user.id):
        if not current_user.is_admin:
            raise ApiError("FORBIDDEN", "Only an admin may see other people's requests.")
        if query.user_id is not None:
            stmt = stmt.where(MediaRequest.user_id == query.user_id)
    else:
        stmt = stmt.where(MediaRequest.user_id == current_user.id)
    if query.status:
        stmt = stmt.where(MediaRequest.status == query.status)
    return stmt


# ------------------------------------------------------------------ JSON API
@bp.get("/api/v1/media/search")
@api_route(
    query=SearchQuery,
    response=list[SearchResultOut],
    paginated=True,
    summary="Search films and series in Overseerr",
    tags=["media"],
)
@login_required
def api_search(query: SearchQuery):
    """Search films and series in Overseerr.

    Results are cached for five minutes per query. Each says its state in
    Overseerr and what a request would do. People Overseerr also finds are
    left out, and the pagination counts only the films and series among
    Overseerr's 100 best matches (``total_exact`` is false when it has more).
    """
    answer = _search(query.query, query.page)
    meta = {
        "pagination": {
            "page": answer["page"],
            "per_page": answer["per_page"],
            "total": answer["total_results"],
            "pages": answer["total_pages"],
            # Overseerr has more matches than the pages MediaNest read: the total is "at least".
            "total_exact": not answer["narrower"],
        }
    }
    return ok(answer["results"], meta=meta)


@bp.get("/api/v1/media/requests")
@api_route(
    query=RequestListQuery,
    response=list[MediaRequestOut],
    paginated=True,
    summary="Requests made through MediaNest (your own; admins may pick a user or everyone)",
    tags=["media"],
)
@login_required
def api_requests(query: RequestListQuery):
    """Requests made through MediaNest, newest first."""
    rows, meta = paginate(_requests_query(query), query.page, query.per_page, query.before, MediaRequest.id)
    return ok([r.to_public() for r in rows], meta=meta)


@bp.post("/api/v1/media/requests")
@media_request_limit
@api_route(
    body=NewRequest,
    response=MediaRequestOut,
    status=201,
    summary="Request a film, or a series with chosen seasons (or all), on your behalf",
    tags=["media"],
)
@login_required
def api_create_request(body: NewRequest):
    """Request a film, or a series with chosen seasons (or all), on your behalf.

    Made in Overseerr as your Overseerr user (matched by Plex id), so its
    quotas, permissions and auto-approval apply.
    """
    record = media_requests.make_request(current_user, body.media_type, body.tmdb_id, body.seasons)
    return ok(record.to_public(), status=201)


@bp.get("/api/v1/media/requests/<int:request_id>")
@api_route(response=MediaRequestOut, summary="One request and its status", tags=["media"])
@login_required
def api_request(request_id: int):
    """One request and its status."""
    record = owned_or_404(db.session.get(MediaRequest, request_id), "That request")
    return ok(record.to_public())


@bp.post("/api/v1/media/webhook")
@api_route(
    response=WebhookOut,
    summary="Overseerr's webhook (authenticated by its secret in the Authorization header)",
    tags=["media"],
)
@csrf_exempt
@rate_limit_exempt
@public
def api_webhook():
    """Overseerr's webhook, authenticated by its secret in the Authorization header.

    Point Overseerr's webhook agent here with the default JSON payload.
    """
    webhook.authenticate(request.headers.get("Authorization"))
    outcome = webhook.handle(webhook.parse(request.get_data(cache=False)))
    return ok(outcome.to_public())


# ------------------------------------------------------------------ pages
@bp.get("/media/")
@login_required
def search_page():
    """Search films and series; htmx asks for just the results as the user types."""
    text = (request.args.get("query") or "").strip()
    page = request.args.get("page", "1")
    context: dict[str, Any] = {"query": text, "service": service_state(), "answer": None, "error": None}
    if text:
        try:
            params = SearchQuery.model_validate({"query": text, "page": page})
            context["answer"] = _search(params.query, params.page)
        except ValidationError:
            context["error"] = f"Type between 1 and {MAX_QUERY} characters."
        except ApiError as exc:
            context["error"] = exc.message
    template = "overseerr/_results.html" if _is_htmx() else "overseerr/search.html"
    return _vary(make_response(render_template(template, **context)))


@bp.get("/media/posters/<name>")
@login_required
def poster(name: str):
    """A search result's poster, fetched once from TMDB's image server and kept on disk."""
    return poster_response(*posters.poster(name))


@bp.get("/media/tv/<int:tmdb_id>")
@login_required
def seasons_page(tmdb_id: int):
    """Choose the seasons of a series to request."""
    context: dict[str, Any] = {"service": service_state(), "series": None, "error": None, "tmdb_id": tmdb_id}
    try:
        series = client().details("tv", tmdb_id)
        happens = what_a_request_does(current_user, client(), "tv")
        requestable, action = _action(series, happens, context["service"])
        context.update(series=series, requestable=requestable, action=action)
    except ApiError as exc:
        context["error"] = exc.message
    template = "overseerr/_seasons.html" if _is_htmx() else "overseerr/seasons.html"
    return _vary(make_response(render_template(template, **context)))


@bp.post("/media/requests")
@media_request_limit
@login_required
def request_form():
    """The request button: a film, or a series with the ticked seasons."""
    form = request.form
    seasons: Any = None
    if form.get("media_type") == "tv":
        seasons = "all" if form.get("all_seasons") else [s for s in form.getlist("season") if s.strip()]
    try:
        body = NewRequest.model_validate(
            {"media_type": form.get("media_type"), "tmdb_id": form.get("tmdb_id"), "seasons": seasons}
        )
    except ValidationError as exc:
        g.overseerr_request_refused_early = True
        message = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
        return _request_answer(None, f"That request is not valid: {message}", 400)
    try:
        record = media_requests.make_request(current_user, body.media_type, body.tmdb_id, body.seasons)
    except ApiError as exc:
        if exc.code == "VALIDATION_ERROR":
            g.overseerr_request_refused_early = True
        return _request_answer(None, exc.message, exc.status, exc.code)
    return _request_answer(record, f"Requested {record.title}: {record.status_label.lower()}.", 200)


def _request_answer(record: MediaRequest | None, message: str, status: int, code: str | None = None):
    if _is_htmx():
        # htmx swaps only 2xx answers: the message is the content, whatever happened.
        response = make_response(
            render_template("overseerr/_request_answer.html", record=record, message=message, code=code)
        )
        response.headers["X-MediaNest-Status"] = str(status)
        return _vary(response)
    flash(message, "info" if record is not None or status == 200 else "error")
    return redirect(
        url_for("overseerr.requests_page")
        if record is not None
        else request.referrer or url_for("overseerr.search_page")
    )


@bp.get("/media/requests")
@login_required
def requests_page():
    """My requests with their live status (admins may pick a user or everyone)."""
    args = {k: v for k, v in request.args.items() if v != ""}
    try:
        query = RequestListQuery.model_validate(args)
    except ValidationError:
        query = RequestListQuery()
    rows, meta = paginate(_requests_query(query), query.page, query.per_page)
    people = []
    if current_user.is_admin:
        people = list(db.session.scalars(db.select(User).order_by(User.username)))
    template = "overseerr/_requests.html" if _is_htmx() else "overseerr/requests.html"
    response = make_response(
        render_template(
            template,
            rows=rows,
            pagination=meta["pagination"],
            query=query,
            people=people,
            statuses=STATUS_LABELS,
        )
    )
    return _vary(response)


@bp.get("/media/admin/webhook")
@admin_required
def webhook_help():
    """What to paste into Overseerr's webhook settings (creates the secret if there is none)."""
    secret = config.webhook_secret(generate=True)
    return render_template(
        "overseerr/webhook_help.html",
        url=config.webhook_url(),
        header=f"Bearer {secret}" if secret else None,
        last_test=webhook.last_test(),
    )
