"""Pages under ``/youtube/`` and JSON under ``/api/v1/youtube/``.

Each page route serves the whole page, or just its fragment when htmx asks
(``HX-Request``), so a Socket.IO event re-fetches the fragment from the
database: a reload and a live update show the same thing.
"""

from __future__ import annotations

from typing import Literal

from flask import (
    Blueprint,
    Response,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from medianest_youtube import downloads
from medianest_youtube.config import RATE_LIMIT
from medianest_youtube.models import FORMATS, STATUSES, Download
from medianest_youtube.urls import MAX_URL_LENGTH
from pydantic import BaseModel, Field, ValidationError
from werkzeug.routing import BuildError

from medianest.plugins.access import (
    admin_exempt_from_limits,
    limit_wait,
    limiter,
    login_required,
    owned_or_404,
    rate_limit_value,
)
from medianest.plugins.api import ApiError, CursorQuery, RowId, Schema, api_route, ok, paginate
from medianest.plugins.db import db

bp = Blueprint("youtube", __name__, template_folder="templates")

FormatName = Literal["best", "1080p", "720p", "audio"]
StatusName = Literal["queued", "running", "completed", "failed", "cancelled"]


def _submission_limit() -> str:
    return rate_limit_value(RATE_LIMIT)


def _accepted(response) -> bool:
    """Only a queued download counts: refusals (bad URL, duplicate, no space) and 429s cost nothing."""
    return response.status_code < 400 and not g.get("youtube_submission_refused")


def _form_over_limit(limit) -> Response:
    """The form again with what was typed, the real wait named (the 429 handler adds the same ``Retry-After``)."""
    wait = limit_wait(limit)
    message = f"You have queued {limit.limit.amount} downloads, the most allowed per {_window(limit.limit)}. "
    message += f"Try again in {wait} s ({_duration(wait)})."
    response = _form_answer(message, _typed_form(), 429, "RATE_LIMITED")
    response.headers["Retry-After"] = str(wait)
    return response


# One budget for the form and the API (one scope); only accepted submissions count against it,
# and admins pass unless MEDIANEST_RATE_LIMIT_EXEMPT_ADMINS is false.
api_submission_limit = limiter.shared_limit(
    _submission_limit, scope="youtube-submissions", deduct_when=_accepted, exempt_when=admin_exempt_from_limits
)
form_submission_limit = limiter.shared_limit(
    _submission_limit,
    scope="youtube-submissions",
    deduct_when=_accepted,
    exempt_when=admin_exempt_from_limits,
    on_breach=_form_over_limit,
)


def _window(item) -> str:
    unit = item.GRANULARITY.name
    return unit if item.multiples == 1 else f"{item.multiples} {unit}s"


def _duration(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} seconds"
    if seconds < 90 * 60:
        return f"about {round(seconds / 60)} minutes"
    return f"about {round(seconds / 3600)} hours"


class NewDownload(Schema):
    url: str = Field(min_length=1, max_length=MAX_URL_LENGTH, description="A video or playlist URL on an allowed host")
    format: FormatName = Field(
        default="best", description="best, 1080p (at most), 720p (at most) or audio (audio only)"
    )


class DownloadQuery(CursorQuery):
    status: StatusName | None = None
    user_id: RowId | None = Field(default=None, description="Admins only: one user's downloads")


class DownloadFileOut(BaseModel):
    n: int
    name: str
    size: int | None = None
    title: str | None = None
    index: int | None = None


class DownloadOut(BaseModel):
    id: int
    user_id: int
    url: str
    format: str
    status: str
    phase: str | None = None
    title: str | None = None
    folder: str | None = None
    entry_count: int | None = None
    entry_index: int | None = None
    entry_title: str | None = None
    percent: float
    speed: float | None = None
    eta: int | None = None
    queue_position: int | None = None
    files: list[DownloadFileOut]
    total_bytes: int
    failures: list[dict]
    error: str | None = None
    attempts: int
    cancel_requested: bool
    collection_url: str | None = None
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None


def _row_or_404(download_id: int) -> Download:
    return owned_or_404(db.session.get(Download, download_id), "That download")


def _fragment_or_page(fragment: str, page: str, **context):
    template = fragment if request.htmx else page
    response = make_response(render_template(template, **context))
    response.headers["Vary"] = "HX-Request"
    return response


# ------------------------------------------------------------------ JSON API
@bp.get("/api/v1/youtube/downloads")
@api_route(query=DownloadQuery, response=list[DownloadOut], paginated=True, summary="List downloads", tags=["youtube"])
@login_required
def api_list(query: DownloadQuery):
    """Your downloads, newest first; admins see everyone's and may filter by ``user_id``."""
    stmt, params = downloads.list_statement(current_user, query.status, query.user_id, rows=True)
    rows, meta = paginate(stmt, query.page, query.per_page, query.before, downloads.TABLE.c.id, params)
    return ok(downloads.public_list(rows), meta)


@bp.post("/api/v1/youtube/downloads")
@api_submission_limit
@api_route(
    body=NewDownload,
    response=DownloadOut,
    status=201,
    summary="Queue a download",
    tags=["youtube"],
    errors=(400, 403, 409, 429, 507),
)
@login_required
def api_create(body: NewDownload):
    """Queue a video or playlist; 409 with the existing download when the same URL is already queued or running."""
    row = downloads.submit(current_user, body.url, body.format)
    return ok(downloads.public(row), status=201)


@bp.get("/api/v1/youtube/downloads/<int:download_id>")
@api_route(response=DownloadOut, summary="One download with its files", tags=["youtube"], errors=(404,))
@login_required
def api_detail(download_id: int):
    """Details of a download: progress, files with sizes, failed entries."""
    return ok(downloads.public(_row_or_404(download_id)))


@bp.delete("/api/v1/youtube/downloads/<int:download_id>")
@api_route(summary="Delete a download and its files", tags=["youtube"], errors=(404,))
@login_required
def api_delete(download_id: int):
    """Remove the download and its files (a running one is stopped first)."""
    downloads.delete(_row_or_404(download_id))
    return ok({"id": download_id, "deleted": True})


@bp.post("/api/v1/youtube/downloads/<int:download_id>/cancel")
@api_route(response=DownloadOut, status=202, summary="Cancel a download", tags=["youtube"], errors=(404, 409))
@login_required
def api_cancel(download_id: int):
    """Stop a queued or running download; partial files are removed."""
    row = downloads.cancel(_row_or_404(download_id))
    return ok(downloads.public(row), status=202)


@bp.post("/api/v1/youtube/downloads/<int:download_id>/retry")
@api_route(
    response=DownloadOut,
    status=202,
    summary="Retry a failed or cancelled download",
    tags=["youtube"],
    errors=(404, 409),
)
@login_required
def api_retry(download_id: int):
    """Queue a failed or cancelled download again; finished entries are not fetched twice."""
    row = downloads.retry(_row_or_404(download_id))
    return ok(downloads.public(row), status=202)


@bp.get("/api/v1/youtube/downloads/<int:download_id>/files/<int:n>")
@api_route(
    summary="Fetch one downloaded file (Range supported)",
    tags=["youtube"],
    errors=(404,),
    # send_file names the type after the file: what yt-dlp wrote is video or audio, anything else octet-stream
    raw_response=("video/*", "audio/*", "application/octet-stream"),
    partial_content=True,
)
@login_required
def api_file(download_id: int, n: int):
    """The n-th file of your download (0-based), with Range and conditional requests."""
    row = _row_or_404(download_id)
    path = downloads.file_path(row, n)
    if path is None:
        raise ApiError("NOT_FOUND", "That file does not exist (any more).")
    return send_file(path, conditional=True, as_attachment=request.args.get("download") == "1", download_name=path.name)


# ------------------------------------------------------------------ pages
def _page_context(error: str | None = None, form: dict | None = None) -> dict:
    rows = db.session.scalars(downloads.list_query(current_user).limit(100)).all()
    return {
        "rows": rows,
        "owners": downloads.owner_names(rows) if current_user.is_admin else {},
        "positions": downloads.queue_positions(rows),
        "formats": FORMATS,
        "error": error,
        "form": form or {},
        "statuses": STATUSES,
        "queue_length": downloads.queue_length(),
    }


@bp.get("/youtube/")
@login_required
def index():
    """Your downloads and the form to add one (the list alone for htmx)."""
    return _fragment_or_page("youtube/_list.html", "youtube/index.html", **_page_context())


def _typed_form() -> dict:
    return {"url": request.form.get("url", ""), "format": request.form.get("format", "best")}


def _form_answer(error: str, form: dict, status: int, code: str | None = None) -> Response:
    """The form with ``error`` and what was typed: alone for htmx (swapped in place), else the whole page."""
    if request.headers.get("HX-Request"):
        response = make_response(
            render_template("youtube/_form.html", formats=FORMATS, error=error, error_code=code, form=form), status
        )
    else:
        context = _page_context(error, form) | {"error_code": code}
        response = make_response(render_template("youtube/index.html", **context), status)
    response.headers["Vary"] = "HX-Request"
    return response


@bp.post("/youtube/")
@form_submission_limit
@login_required
def submit_form():
    """The page form: queue a download, then show it."""
    form = _typed_form()
    try:
        body = NewDownload.model_validate(form)
        row = downloads.submit(current_user, body.url, body.format)
    except ValidationError as exc:
        g.youtube_submission_refused = True
        field = exc.errors()[0]["loc"][0] if exc.errors() else "url"
        if field == "format":
            message = "Choose one of the offered formats."
        else:
            message = "Paste the address of a video or playlist." if not form["url"].strip() else "Paste a shorter URL."
        return _form_answer(message, form, 400, "VALIDATION_ERROR")
    except ApiError as exc:
        g.youtube_submission_refused = True
        return _form_answer(exc.message, form, exc.status, exc.code)
    target = url_for("youtube.detail", download_id=row.id)
    if request.headers.get("HX-Request"):
        response = make_response("", 201)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, 303)


@bp.get("/youtube/<int:download_id>")
@login_required
def detail(download_id: int):
    """One download: live progress, files, failures, actions (the fragment alone for htmx)."""
    try:
        row = _row_or_404(download_id)
    except ApiError:
        if request.htmx:
            return make_response(render_template("youtube/_gone.html"), 200)  # deleted meanwhile: say so
        raise
    data = downloads.public(row)
    owner = downloads.owner_names([row]).get(row.user_id) if current_user.is_admin else None
    return _fragment_or_page(
        "youtube/_download.html",
        "youtube/detail.html",
        row=row,
        d=data,
        owner=owner,
        collection_part=_collection_part(row),
    )


def _collection_part(row: Download) -> str | None:
    """The page that shows a finished download's collection step, when a plugin serves one (Plex does)."""
    if row.status != "completed":
        return None
    try:
        return url_for("plex.download_collection_fragment", download_id=row.id)
    except BuildError:  # no plugin makes collections here
        return None


def _form_action(download_id: int, action) -> Download:
    row = _row_or_404(download_id)
    try:
        action(row)
    except ApiError as exc:
        flash(exc.message, "error")
    return row


def _card_or_redirect(download_id: int):
    """htmx: the download's card as it is now (the action's flash message goes away with it); else the page."""
    if request.headers.get("HX-Request"):
        return detail(download_id)
    return redirect(url_for("youtube.detail", download_id=download_id), 303)


@bp.post("/youtube/<int:download_id>/cancel")
@login_required
def cancel_form(download_id: int):
    """Cancel from the page."""
    _form_action(download_id, downloads.cancel)
    return _card_or_redirect(download_id)


@bp.post("/youtube/<int:download_id>/retry")
@login_required
def retry_form(download_id: int):
    """Retry from the page."""
    _form_action(download_id, downloads.retry)
    return _card_or_redirect(download_id)


@bp.post("/youtube/<int:download_id>/delete")
@login_required
def delete_form(download_id: int):
    """Delete from the page, once the person has confirmed (without ``confirm``, the question)."""
    row = _row_or_404(download_id)
    if request.form.get("confirm") != "yes":
        return render_template("youtube/confirm_delete.html", row=row, d=downloads.public(row))
    title = row.title or row.url
    _form_action(download_id, downloads.delete)
    flash(f"Deleted {title} and its files.", "info")
    target = url_for("youtube.index")
    if request.headers.get("HX-Request"):
        response = make_response("", 200)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, 303)
