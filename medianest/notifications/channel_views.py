"""Notification channels: a person's own (``/me/channels``), the household's (admins), and their JSON twins."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from pydantic import BaseModel, Field

from medianest.access import admin_required, login_required
from medianest.admin.audit import record
from medianest.api import ApiError, Schema, api_route, ok
from medianest.notifications import channels, delivery
from medianest.notifications.inbox import KINDS

bp = Blueprint("notification_channels", __name__)


class ChannelOut(BaseModel):
    id: int
    name: str
    url: str = Field(description="the service and host only; the URL's tokens are never sent back")
    kinds: list[str] = Field(description="the notification kinds sent here")
    enabled: bool
    household: bool
    state: str = Field(description="`ok`, or `failing` when the last delivery failed after its retries")
    failures: int = Field(description="deliveries in a row that failed after their retries")
    last_error: str | None
    last_failed_at: str | None
    last_sent_at: str | None


class ChannelIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    url: str = Field(min_length=3, max_length=2000, description="an Apprise URL, e.g. `ntfys://ntfy.sh/topic`")
    kinds: list[str] | None = Field(default=None, description="kinds to send here; all allowed ones when left out")


class ChannelPatch(Schema):
    kinds: list[str] | None = None
    enabled: bool | None = None


class QueuedOut(BaseModel):
    queued: bool


def _owner(household: bool) -> int | None:
    return None if household else current_user.id


def _is_htmx() -> bool:
    return bool(request.headers.get("HX-Request"))


def _page(household: bool, error: ApiError | None = None, status: int = 200, notice: str | None = None):
    context: dict[str, Any] = {
        "channels": [channels.channel_public(c) for c in channels.channels_of(_owner(household))],
        "kinds": {k: KINDS[k] for k in channels.allowed_kinds(household, current_user.is_admin)},
        "household": household,
        "error": error,
        "notice": notice,
        "fragment": _is_htmx(),
    }
    response = make_response(
        render_template(
            "notifications/household_channels.html" if household else "notifications/channels.html", **context
        ),
        200 if _is_htmx() else status,
    )
    response.headers["Vary"] = "HX-Request"
    return response


def _form_add(household: bool):
    try:
        row = channels.add_channel(
            _owner(household),
            request.form.get("name", ""),
            request.form.get("url", ""),
            request.form.getlist("kind") or None,
            current_user.is_admin,
        )
    except ApiError as exc:
        return _page(household, exc, exc.status)
    if household:
        record("notifications.household_channel.add", row.name)
    return _page(household, notice=f"Added “{row.name}”.", status=201)


FORM_ACTIONS = ("delete", "test", "save")


def _form_change(household: bool, channel_id: int, action: str):
    if action not in FORM_ACTIONS:
        raise ApiError("NOT_FOUND", "No such action.")
    row = channels.get_channel(_owner(household), channel_id)
    name = row.name
    if action == "delete":
        channels.remove_channel(row)
        if household:
            record("notifications.household_channel.remove", name)
        notice = f"Removed “{name}”."
    elif action == "test":
        delivery.send_test(row, current_user.name)
        notice = f"A test is on its way to “{name}”; its state below shows how it went."
    else:
        channels.change_channel(
            row, request.form.getlist("kind"), request.form.get("enabled") == "1", current_user.is_admin
        )
        notice = f"Saved “{name}”."
    if _is_htmx():
        return _page(household, notice=notice)
    return redirect(url_for("notification_channels.household_page" if household else "notification_channels.page"))


# ---------------------------------------------------------------- pages
@bp.get("/me/channels")
@login_required
def page():
    """Your notification channels: where your notifications also go, and which kinds."""
    return _page(False)


@bp.post("/me/channels")
@login_required
def add_form():
    """Add a channel from the page."""
    return _form_add(False)


@bp.post("/me/channels/<int:channel_id>/<action>")
@login_required
def change_form(channel_id: int, action: str):
    """Remove, test or save one of your channels from the page."""
    return _form_change(False, channel_id, action)


@bp.get("/admin/notifications/channels")
@admin_required
def household_page():
    """The household's channels: outages go here once, whoever is admin."""
    return _page(True)


@bp.post("/admin/notifications/channels")
@admin_required
def household_add_form():
    """Add a household channel from the page."""
    return _form_add(True)


@bp.post("/admin/notifications/channels/<int:channel_id>/<action>")
@admin_required
def household_change_form(channel_id: int, action: str):
    """Remove, test or save a household channel from the page."""
    return _form_change(True, channel_id, action)


# ---------------------------------------------------------------- JSON
def _api_list(household: bool):
    return ok([channels.channel_public(c) for c in channels.channels_of(_owner(household))])


def _api_add(household: bool, body: ChannelIn):
    row = channels.add_channel(_owner(household), body.name, body.url, body.kinds, current_user.is_admin)
    if household:
        record("notifications.household_channel.add", row.name)
    return ok(channels.channel_public(row), status=201)


def _api_patch(household: bool, channel_id: int, body: ChannelPatch):
    row = channels.get_channel(_owner(household), channel_id)
    return ok(channels.channel_public(channels.change_channel(row, body.kinds, body.enabled, current_user.is_admin)))


def _api_delete(household: bool, channel_id: int):
    row = channels.get_channel(_owner(household), channel_id)
    public = channels.channel_public(row)
    channels.remove_channel(row)
    if household:
        record("notifications.household_channel.remove", public["name"])
    return ok(public)


def _api_test(household: bool, channel_id: int):
    delivery.send_test(channels.get_channel(_owner(household), channel_id), current_user.name)
    return ok({"queued": True}, status=202)


@bp.get("/api/v1/notifications/channels")
@api_route(response=list[ChannelOut], summary="Your notification channels", tags=["notifications"])
@login_required
def api_list():
    """Your Apprise channels with their state (`failing` with the last error after failed retries)."""
    return _api_list(False)


@bp.post("/api/v1/notifications/channels")
@api_route(
    body=ChannelIn, response=ChannelOut, status=201, summary="Add a notification channel", tags=["notifications"]
)
@login_required
def api_add(body: ChannelIn):
    """Add an Apprise URL (stored encrypted). Services that don't speak HTTP(S) are refused
    (`CHANNEL_NOT_SUPPORTED`), as are URLs Apprise doesn't know (`CHANNEL_URL_INVALID`)."""
    return _api_add(False, body)


@bp.patch("/api/v1/notifications/channels/<int:channel_id>")
@api_route(
    body=ChannelPatch,
    response=ChannelOut,
    summary="Change a notification channel",
    tags=["notifications"],
    errors=(404,),
)
@login_required
def api_patch(channel_id: int, body: ChannelPatch):
    """Pick the kinds sent to this channel, or switch it off and on."""
    return _api_patch(False, channel_id, body)


@bp.delete("/api/v1/notifications/channels/<int:channel_id>")
@api_route(response=ChannelOut, summary="Remove a notification channel", tags=["notifications"], errors=(404,))
@login_required
def api_delete(channel_id: int):
    """Remove one of your channels."""
    return _api_delete(False, channel_id)


@bp.post("/api/v1/notifications/channels/<int:channel_id>/test")
@api_route(response=QueuedOut, status=202, summary="Send a test to a channel", tags=["notifications"], errors=(404,))
@login_required
def api_test(channel_id: int):
    """Queue a test message; the channel's state says how it went."""
    return _api_test(False, channel_id)


@bp.get("/api/v1/admin/notifications/channels")
@api_route(response=list[ChannelOut], summary="The household's channels", tags=["admin"])
@admin_required
def api_household_list():
    """Channels that receive outages (a service down and back up) once for the household."""
    return _api_list(True)


@bp.post("/api/v1/admin/notifications/channels")
@api_route(body=ChannelIn, response=ChannelOut, status=201, summary="Add a household channel", tags=["admin"])
@admin_required
def api_household_add(body: ChannelIn):
    """Add an Apprise URL for the household's outage notices."""
    return _api_add(True, body)


@bp.patch("/api/v1/admin/notifications/channels/<int:channel_id>")
@api_route(body=ChannelPatch, response=ChannelOut, summary="Change a household channel", tags=["admin"], errors=(404,))
@admin_required
def api_household_patch(channel_id: int, body: ChannelPatch):
    """Pick the outage kinds sent there, or switch it off and on."""
    return _api_patch(True, channel_id, body)


@bp.delete("/api/v1/admin/notifications/channels/<int:channel_id>")
@api_route(response=ChannelOut, summary="Remove a household channel", tags=["admin"], errors=(404,))
@admin_required
def api_household_delete(channel_id: int):
    """Remove a household channel."""
    return _api_delete(True, channel_id)


@bp.post("/api/v1/admin/notifications/channels/<int:channel_id>/test")
@api_route(response=QueuedOut, status=202, summary="Send a test to a household channel", tags=["admin"], errors=(404,))
@admin_required
def api_household_test(channel_id: int):
    """Queue a test message to a household channel."""
    return _api_test(True, channel_id)
