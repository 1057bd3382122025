"""Watch statistics from a Tautulli-like service: every hook a plugin usually needs.

- ``service_settings``: the service's URL and API key (stored encrypted), with
  a connection test;
- ``register_blueprints`` / ``nav_items``: a page in the top bar and a JSON
  route under ``/api/v1/watchstats/``;
- ``migration_locations``: the ``watchstats_snapshots`` table, on its own branch;
- ``periodic_tasks``: a snapshot every minute, which publishes
  ``watchstats.snapshot`` (``published_events`` declares its payload);
- ``dashboard_cards``: a card that refreshes itself on that event;
- ``health_checks``: the service's status on the dashboard and in ``/api/v1/health``;
- ``event_subscriptions``: MediaNest's ``user.deleted``.

Everything it uses from MediaNest comes from ``medianest.plugins``.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from pathlib import Path

from celery import shared_task
from flask import Blueprint, render_template, url_for
from pydantic import BaseModel, Field, SecretStr
from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from medianest.plugins import (
    ConnectionResult,
    DashboardCard,
    Event,
    EventPayload,
    HealthCheck,
    HealthResult,
    NavItem,
    ServiceClient,
    ServiceError,
    ServiceSettings,
    api_route,
    db,
    hookimpl,
    json_of,
    login_required,
    ok,
    publish,
    service_config,
    utcnow,
)
from medianest.plugins.settings import URL, setting

SERVICE = "watchstats"
SNAPSHOT = "watchstats.snapshot"
HERE = Path(__file__).resolve().parent
log = logging.getLogger("medianest.plugins.watchstats")


class Snapshot(db.Model):
    """What the service said at one moment."""

    __tablename__ = "watchstats_snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    taken_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    streams: Mapped[int] = mapped_column(Integer)
    top_title: Mapped[str | None] = mapped_column(String(300))

    def public(self) -> dict:
        return {
            "taken_at": self.taken_at.isoformat(timespec="seconds") + "Z",
            "streams": self.streams,
            "top_title": self.top_title,
        }


class SnapshotPayload(EventPayload):
    streams: int = Field(description="how many streams are playing")
    top_title: str | None = Field(description="the title of one of them")
    taken_at: str = Field(description="when the snapshot was taken (ISO 8601, UTC)")


# ---------------------------------------------------------------- the service
def _client(settings: dict) -> ServiceClient:
    return ServiceClient.for_service(SERVICE, settings["url"])


def fetch_activity(settings: dict) -> dict:
    """``get_activity`` from the service (Tautulli's API v2): stream count and sessions."""
    response = _client(settings).get("/api/v2", params={"cmd": "get_activity", "apikey": settings["api_key"]})
    answer = json_of(response, SERVICE)["response"]
    if answer.get("result") != "success":
        raise ServiceError(SERVICE, answer.get("message") or "The service refused the request.")
    return answer["data"]


def test_connection(settings: dict) -> ConnectionResult:
    try:
        data = fetch_activity(settings)
    except (ServiceError, KeyError, TypeError) as exc:
        return ConnectionResult(False, f"Could not read the watch statistics: {exc}")
    return ConnectionResult(True, f"Connected: {data.get('stream_count', 0)} stream(s) playing.")


def configured() -> dict | None:
    settings = service_config(SERVICE)
    return settings if settings.get("url") and settings.get("api_key") else None


# ---------------------------------------------------------------- the data
def latest() -> Snapshot | None:
    return db.session.scalar(db.select(Snapshot).order_by(Snapshot.id.desc()).limit(1))


def take_snapshot() -> Snapshot | None:
    """Store what the service says now and tell the browsers; ``None`` when not set up."""
    settings = configured()
    if settings is None:
        return None
    data = fetch_activity(settings)
    sessions = data.get("sessions") or []
    row = Snapshot(
        taken_at=utcnow(),
        streams=int(data.get("stream_count") or 0),
        top_title=sessions[0].get("full_title") if sessions else None,
    )
    db.session.add(row)
    db.session.commit()
    publish(SNAPSHOT, {"user_id": None, **row.public()})
    return row


@shared_task(name="watchstats.snapshot", ignore_result=True)
def snapshot_task() -> None:
    try:
        take_snapshot()
    except ServiceError as exc:  # the health check reports it; the next run tries again
        log.warning("watch statistics not read: %s", exc)


def check() -> HealthResult:
    settings = configured()
    if settings is None:
        return HealthResult("unconfigured")
    started = time.monotonic()
    fetch_activity(settings)  # raising counts as offline, with the message
    return HealthResult("online", response_ms=(time.monotonic() - started) * 1000)


def on_user_deleted(payload: dict) -> None:
    # The snapshots hold no one's data; a plugin that keeps per-person rows deletes them here.
    log.info("user %s deleted; watchstats keeps nothing of theirs", payload["user_id"])


# ---------------------------------------------------------------- the web
bp = Blueprint("watchstats", __name__, template_folder="templates")


@bp.get("/watchstats/")
@login_required
def page():
    """The watch statistics page."""
    return render_template("watchstats/page.html", latest=_public(latest()))


@bp.get("/api/v1/watchstats/latest")
@api_route(summary="The latest watch statistics", tags=["watchstats"])
@login_required
def api_latest():
    """The latest snapshot (``null`` before the first)."""
    return ok(_public(latest()))


def _public(row: Snapshot | None) -> dict | None:
    return row.public() if row is not None else None


# ---------------------------------------------------------------- the hooks
class WatchstatsSettings(BaseModel):
    """The admin's form: what is typed there is validated through this model."""

    url: URL = setting("URL", help="For example http://tautulli:8181")
    api_key: SecretStr = setting("API key")  # stored encrypted, never sent back to the browser


@hookimpl
def service_settings():
    return [
        ServiceSettings(
            service=SERVICE,
            title="Watch statistics",
            model=WatchstatsSettings,
            test_connection=test_connection,
            description="A Tautulli-compatible service that knows what is playing.",
        )
    ]


@hookimpl
def register_blueprints(app):
    return [bp]


@hookimpl
def nav_items(user):
    return [NavItem("Watch statistics", url_for("watchstats.page"), order=250)] if user is not None else []


@hookimpl
def migration_locations():
    return [str(HERE / "migrations")]


@hookimpl
def periodic_tasks():
    return [("watchstats.snapshot", 60.0, snapshot_task)]


@hookimpl
def published_events():
    return [Event(SNAPSHOT, SnapshotPayload, audience="everyone", description="A new watch statistics snapshot.")]


@hookimpl
def event_subscriptions():
    return [("user.deleted", on_user_deleted)]


@hookimpl
def dashboard_cards(user):
    return [
        DashboardCard(
            id="watchstats",
            title="Watch statistics",
            template="watchstats/cards/streams.html",
            context=lambda: {"latest": _public(latest())},
            refresh_events=(SNAPSHOT,),
            order=60,
        )
    ]


@hookimpl
def health_checks():
    return [HealthCheck(name=SERVICE, check=check, display_name="Watch statistics", timeout=10.0)]
