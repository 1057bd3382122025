"""MediaNest's overseerr plugin: its hook implementations."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from celery import shared_task
from flask import url_for
from medianest_overseerr import config

from medianest.plugins import (
    ConnectionResult,
    DashboardCard,
    ErrorCode,
    HealthCheck,
    HealthResult,
    NavItem,
    RateLimit,
    ServiceSettings,
    hookimpl,
)
from medianest.plugins.db import ServiceStatus, db
from medianest.plugins.http import ServiceError, ServiceUnauthorized, check_base_url

PLUGIN_API = ">=1,<2"

HERE = Path(__file__).parent
RECONCILE_SECONDS = 300.0


@shared_task(name="overseerr.reconcile", ignore_result=True)
def reconcile() -> dict[str, int]:
    """Bring open requests up to date from Overseerr (for installations without the webhook)."""
    from medianest_overseerr.media_requests import reconcile as run

    return run()


@shared_task(name="overseerr.prune_posters", ignore_result=True)
def prune_posters() -> int:
    """Forget posters nobody looked at in a month."""
    from medianest_overseerr import posters

    return posters.prune()


@hookimpl
def register_blueprints(app):
    from medianest_overseerr.views import bp

    return [bp]


@hookimpl
def published_events():
    from medianest_overseerr.events import EVENTS

    return list(EVENTS)


@hookimpl
def migration_locations() -> list[str]:
    return [str(HERE / "migrations")]


@hookimpl
def error_codes() -> list[ErrorCode]:
    # Overseerr's own refusals, as clear answers.
    return [
        ErrorCode("MEDIA_USER_UNMATCHED", 403, "Your account is not linked to an Overseerr user."),
        ErrorCode("MEDIA_REQUEST_REFUSED", 403, "Overseerr refused the request (quota, permissions)."),
        ErrorCode("MEDIA_ALREADY_REQUESTED", 409, "That title is already requested or available."),
    ]


@hookimpl
def rate_limits() -> list[RateLimit]:
    return [RateLimit(config.RATE_LIMIT, "20/hour", "new requests per person")]


@hookimpl
def periodic_tasks():
    return [("overseerr.reconcile", RECONCILE_SECONDS, reconcile), ("overseerr.prune-posters", 86400, prune_posters)]


@hookimpl
def startup(app) -> None:
    config.ensure_webhook_secret()


@hookimpl
def media_items(user):
    from medianest_overseerr.media_items import media_items as items_of

    return items_of(user)


@hookimpl
def nav_items(user) -> list[NavItem]:
    if user is None:
        return []
    return [
        NavItem("Request media", url_for("overseerr.search_page"), order=20),
        NavItem("My requests", url_for("overseerr.requests_page"), order=21),
    ]


# ------------------------------------------------------------------ status
def _check() -> HealthResult:
    from medianest_overseerr.client import OverseerrClient, to_int

    settings = config.load()
    if not settings.configured:
        return HealthResult("unconfigured", error="URL or API key not set")
    overseerr = OverseerrClient(settings)
    started = time.perf_counter()
    overseerr.status()  # no key needed: is it there at all
    elapsed = round((time.perf_counter() - started) * 1000, 1)
    try:
        counts = overseerr.request_count()
    except ServiceUnauthorized:
        # Overseerr answers, but not to this key: the setting to fix is the API key.
        return HealthResult(
            "degraded",
            elapsed,
            "Overseerr answers, but refuses the API key in MediaNest's settings.",
            {"setting": "api_key"},
        )
    except ServiceError as exc:
        return HealthResult("degraded", elapsed, exc.message)
    details = {k: to_int(counts.get(k)) for k in ("pending", "approved", "processing", "available", "total")}
    return HealthResult("online", elapsed, details=details)


@hookimpl
def health_checks() -> list[HealthCheck]:
    return [HealthCheck(name="overseerr", check=_check, display_name="Overseerr", timeout=15.0)]


def test_connection(values: dict[str, Any]) -> ConnectionResult:
    """``GET /status`` (is it there) and ``GET /auth/me`` (is the key good), saying which failed."""
    from medianest_overseerr.client import OverseerrClient

    settings = config.load(values)
    problem = check_base_url(settings.url)
    if problem:
        return ConnectionResult(False, f"URL: {problem}")
    if not settings.api_key:
        return ConnectionResult(False, "Enter Overseerr's API key (Settings → General).")
    overseerr = OverseerrClient(settings)
    try:
        status = overseerr.status()
    except ServiceError as exc:
        return ConnectionResult(False, f"GET /api/v1/status failed: {exc.message}", {"step": "status"})
    try:
        me = overseerr.me()
    except ServiceError as exc:
        return ConnectionResult(
            False,
            f"Overseerr {status.get('version', '')} answers, but GET /api/v1/auth/me failed: {exc.message}",
            {"step": "auth/me", "version": status.get("version")},
        )
    who = me.get("displayName") or me.get("username") or me.get("email") or "?"
    return ConnectionResult(
        True,
        f"Connected to Overseerr {status.get('version', '')}; the API key acts as {who}.",
        {"version": status.get("version"), "user": who},
    )


@hookimpl
def service_settings() -> list[ServiceSettings]:
    return [
        ServiceSettings(
            service=config.SERVICE,
            title="Overseerr",
            model=config.OverseerrSettings,
            test_connection=test_connection,
            description=config.webhook_instructions,  # drawn with the page: it reads the stored secret
        )
    ]


# ------------------------------------------------------------------ dashboard
def _card_context() -> dict[str, Any]:
    from flask_login import current_user
    from medianest_overseerr.models import MediaRequest

    row = db.session.get(ServiceStatus, "overseerr")
    latest = db.session.scalars(
        db.select(MediaRequest)
        .where(MediaRequest.user_id == current_user.id)
        .order_by(MediaRequest.created_at.desc(), MediaRequest.id.desc())
        .limit(5)
    ).all()
    pending = None
    if current_user.is_admin:
        pending = (row.details or {}).get("pending") if row is not None else None
        if pending is None:
            pending = db.session.scalar(
                db.select(db.func.count()).select_from(MediaRequest).where(MediaRequest.status == "pending")
            )
    return {"status_row": row, "latest": latest, "pending": pending}


@hookimpl
def dashboard_cards(user) -> list[DashboardCard]:
    return [
        DashboardCard(
            id="overseerr",
            title="Requests",
            template="overseerr/cards/requests.html",
            context=_card_context,
            refresh_events=("media.request.created", "media.request.updated", "service.status"),
            order=20,
        )
    ]
