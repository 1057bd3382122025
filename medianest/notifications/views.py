"""The inbox page, the bell, the admins' retention setting, and the inbox's JSON routes."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from pydantic import BaseModel, Field

from medianest.access import admin_required, login_required
from medianest.admin.audit import record
from medianest.api import ApiError, CursorQuery, Schema, api_route, ok, paginate
from medianest.models import Notification
from medianest.notifications import inbox

bp = Blueprint("notifications", __name__)

PER_PAGE = 25


# ---------------------------------------------------------------- schemas
class NotificationOut(BaseModel):
    id: int
    kind: str = Field(description="what happened, e.g. `request.available`, `download.failed`, `service.down`")
    level: str = Field(description="`info`, `success`, `warning` or `error`")
    message: str
    link: str | None
    created_at: str
    read: bool
    read_at: str | None


class InboxQuery(CursorQuery):
    unread: bool = Field(default=False, description="only the notifications not read yet")


class UnreadOut(BaseModel):
    unread: int


class MarkedOut(BaseModel):
    marked: int
    unread: int


class RetentionOut(BaseModel):
    retention_days: int


class RetentionIn(Schema):
    retention_days: int = Field(ge=1, le=3650, description="days a notification is kept (90 by default)")


# ---------------------------------------------------------------- helpers
def _is_htmx() -> bool:
    return bool(request.headers.get("HX-Request"))


def _answer(template: str, status: int = 200, **context: Any):
    fragment = _is_htmx()
    response = make_response(render_template(template, fragment=fragment, **context), 200 if fragment else status)
    response.headers["Vary"] = "HX-Request"
    return response


@bp.app_context_processor
def _bell() -> dict[str, Any]:
    def inbox_unread() -> int:
        return inbox.unread_count(current_user.id) if current_user.is_authenticated else 0

    return {"inbox_unread": inbox_unread}


def _inbox_page(changed: bool = False):
    page = max(1, request.args.get("page", 1, type=int) or 1)
    unread_only = request.args.get("unread") == "1"
    rows, meta = paginate(inbox.inbox_select(current_user.id, unread_only), page, PER_PAGE)
    response = _answer(
        "notifications/inbox.html",
        items=[n.to_public() for n in rows],
        pagination=meta["pagination"],
        unread_only=unread_only,
        unread=inbox.unread_count(current_user.id),
    )
    if changed:  # the bell counts again
        response.headers["HX-Trigger"] = "inbox.changed"
    return response


# ---------------------------------------------------------------- pages
@bp.get("/me/notifications")
@login_required
def inbox_page():
    """Your notifications, newest first; ``?unread=1`` for the ones not read yet."""
    return _inbox_page()


@bp.get("/me/notifications/bell")
@login_required
def bell():
    """The bell in the top bar with its unread count (re-fetched on each ``notification``)."""
    response = make_response(render_template("notifications/bell.html"))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/me/notifications/<int:notification_id>/read")
@login_required
def read_form(notification_id: int):
    """Mark one notification read from the inbox page."""
    if inbox.mark_read(current_user.id, notification_id) is None:
        raise ApiError("NOT_FOUND", "No such notification.")
    if _is_htmx():
        return _inbox_page(changed=True)
    return redirect(url_for("notifications.inbox_page"))


@bp.post("/me/notifications/read-all")
@login_required
def read_all_form():
    """Mark every notification read from the inbox page."""
    inbox.mark_all_read(current_user.id)
    if _is_htmx():
        return _inbox_page(changed=True)
    return redirect(url_for("notifications.inbox_page"))


@bp.get("/admin/notifications")
@admin_required
def admin_page():
    """How long notifications are kept."""
    return _answer("notifications/admin.html", retention_days=inbox.retention_days(), error=None, saved=False)


@bp.post("/admin/notifications")
@admin_required
def admin_save():
    """Save the retention from the form."""
    try:
        days = RetentionIn(retention_days=request.form.get("retention_days", "")).retention_days
    except ValueError:
        error = ApiError("VALIDATION_ERROR", "Keep notifications for a whole number of days, from 1 to 3650.")
        return _answer(
            "notifications/admin.html", status=400, retention_days=inbox.retention_days(), error=error, saved=False
        )
    _save_retention(days)
    return _answer("notifications/admin.html", retention_days=days, error=None, saved=True)


def _save_retention(days: int) -> None:
    before = inbox.retention_days()
    inbox.set_retention_days(days)
    if before != days:
        record("notifications.retention", "notifications", {"from": before, "to": days})


# ---------------------------------------------------------------- JSON
@bp.get("/api/v1/notifications")
@api_route(
    query=InboxQuery,
    response=list[NotificationOut],
    paginated=True,
    summary="Your notifications",
    tags=["notifications"],
)
@login_required
def api_inbox(query: InboxQuery):
    """Your inbox, newest first; ``meta.unread`` is the count of unread ones. Nobody else's, admins included."""
    rows, meta = paginate(
        inbox.inbox_select(current_user.id, query.unread), query.page, query.per_page, query.before, Notification.id
    )
    meta["unread"] = inbox.unread_count(current_user.id)
    return ok([n.to_public() for n in rows], meta)


@bp.get("/api/v1/notifications/unread")
@api_route(response=UnreadOut, summary="How many of your notifications are unread", tags=["notifications"])
@login_required
def api_unread():
    """The bell's number."""
    return ok({"unread": inbox.unread_count(current_user.id)})


@bp.post("/api/v1/notifications/<int:notification_id>/read")
@api_route(response=NotificationOut, summary="Mark a notification read", tags=["notifications"], errors=(404,))
@login_required
def api_read(notification_id: int):
    """Mark one of your notifications read (again is fine); another person's answers 404."""
    row = inbox.mark_read(current_user.id, notification_id)
    if row is None:
        raise ApiError("NOT_FOUND", "No such notification.")
    return ok(row.to_public())


@bp.post("/api/v1/notifications/read-all")
@api_route(response=MarkedOut, summary="Mark all your notifications read", tags=["notifications"])
@login_required
def api_read_all():
    """Mark every unread notification of yours read."""
    marked = inbox.mark_all_read(current_user.id)
    return ok({"marked": marked, "unread": inbox.unread_count(current_user.id)})


@bp.get("/api/v1/admin/notifications/settings")
@api_route(response=RetentionOut, summary="Notification settings", tags=["admin"])
@admin_required
def api_settings():
    """How long notifications are kept, in days."""
    return ok({"retention_days": inbox.retention_days()})


@bp.put("/api/v1/admin/notifications/settings")
@api_route(body=RetentionIn, response=RetentionOut, summary="Change notification settings", tags=["admin"])
@admin_required
def api_settings_put(body: RetentionIn):
    """Keep notifications this many days; older ones go at the next daily purge."""
    _save_retention(body.retention_days)
    return ok({"retention_days": body.retention_days})
