"""A throw-away plugin that uses every hook, installed through the entry-point group.

It keeps a counter in a table of its own (its own Alembic branch), bumps it
from a periodic Celery task, publishes ``cardtest.tick`` and shows the count
on a dashboard card that refreshes on that event.
"""

from __future__ import annotations

from pathlib import Path

from celery import shared_task
from flask import Blueprint, current_app, render_template
from pydantic import Field
from sqlalchemy import text

from medianest.access import login_required
from medianest.api import ApiError, PageQuery, Schema, api_route, ok, pagination_meta
from medianest.extensions import db
from medianest.plugins import (
    ConnectionResult,
    DashboardCard,
    Event,
    EventPayload,
    HealthCheck,
    HealthResult,
    NavItem,
    ServiceSettings,
    SettingField,
    hookimpl,
    publish,
)

HERE = Path(__file__).parent
received: list[dict] = []  # what event_subscriptions saw in this process


def count() -> int:
    return db.session.execute(text("SELECT COALESCE(MAX(n), 0) FROM cardtest_ticks")).scalar_one()


def bump(source: str) -> int:
    n = count() + 1
    db.session.execute(text("INSERT INTO cardtest_ticks (n, source) VALUES (:n, :s)"), {"n": n, "s": source})
    db.session.commit()
    publish("cardtest.tick", {"user_id": None, "n": n, "source": source})
    return n


@shared_task(name="cardtest.tick", ignore_result=True)
def tick() -> None:
    bump("beat")


class EchoBody(Schema):
    name: str = Field(min_length=1, max_length=20)
    count: int = Field(ge=0, le=10)


bp = Blueprint("cardtest", __name__, template_folder="templates")


@bp.get("/cardtest/")
@login_required
def page():
    """The plugin's page."""
    return render_template("cardtest/cards/counter.html", count=count())


@bp.get("/api/v1/cardtest/count")
@api_route(summary="The counter", tags=["cardtest"])
@login_required
def api_count():
    """The counter's value."""
    return ok({"count": count(), "started": current_app.config.get("CARDTEST_STARTED", False)})


@bp.post("/api/v1/cardtest/bump")
@api_route(summary="Bump the counter now", tags=["cardtest"])
@login_required
def api_bump():
    """Bump the counter from a request (publishes cardtest.tick)."""
    return ok({"count": bump("request")})


@bp.post("/api/v1/cardtest/queue")
@api_route(summary="Queue a tick for the background worker", tags=["cardtest"])
@login_required
def api_queue():
    """Queue the periodic task once, now (runs on whichever worker is up)."""
    tick.delay()
    return ok({"queued": True}, status=202)


@bp.post("/api/v1/cardtest/notify")
@api_route(summary="Send the caller a notification", tags=["cardtest"])
@login_required
def api_notify():
    """Publish a notification toast to the signed-in user only."""
    from flask_login import current_user

    from medianest.events import notify

    notify(current_user.id, f"Hello {current_user.name}, the card test says hi", level="success", link="/cardtest/")
    return ok({"sent": True})


@bp.post("/api/v1/cardtest/echo")
@api_route(body=EchoBody, summary="Echo a validated body", tags=["cardtest"])
@login_required
def api_echo(body: EchoBody):
    """Echo the body back."""
    return ok(body.model_dump())


@bp.get("/api/v1/cardtest/items")
@api_route(query=PageQuery, summary="A paginated list", tags=["cardtest"], paginated=True)
@login_required
def api_items(query: PageQuery):
    """Numbers 1..95, paginated."""
    items = list(range(1, 96))
    start = (query.page - 1) * query.per_page
    return ok(items[start : start + query.per_page], meta=pagination_meta(query.page, query.per_page, len(items)))


@bp.get("/api/v1/cardtest/boom")
@api_route(summary="Raises", tags=["cardtest"])
@login_required
def api_boom():
    """Raises an unexpected exception (the trace must stay in the log)."""
    raise RuntimeError("cardtest exploded with secret detail")


@bp.get("/api/v1/cardtest/conflict")
@api_route(summary="A handled error", tags=["cardtest"])
@login_required
def api_conflict():
    """Answers a stable error code."""
    raise ApiError("CONFLICT", "Already there.")


@hookimpl
def register_blueprints(app):
    return [bp]


@hookimpl
def dashboard_cards(user):
    return [
        DashboardCard(
            id="cardtest",
            title="Card test",
            template="cardtest/cards/counter.html",
            context=lambda: {"count": count()},
            refresh_events=("cardtest.tick",),
            order=5,
        )
    ]


def _check() -> HealthResult:
    return HealthResult("online", details={"count": count()})


@hookimpl
def health_checks():
    return [HealthCheck(name="cardtest", check=_check, display_name="Card test service")]


def _test_connection(settings: dict) -> ConnectionResult:
    if settings.get("api_key") == "good-key":
        return ConnectionResult(True, "Connected to the card test service.")
    return ConnectionResult(False, "The card test service refused the key.")


@hookimpl
def service_settings():
    return [
        ServiceSettings(
            service="cardtest",
            title="Card test",
            fields=(SettingField("url", "URL", kind="url"), SettingField("api_key", "API key", secret=True)),
            test_connection=_test_connection,
        )
    ]


@hookimpl
def periodic_tasks():
    return [("cardtest.tick", 1.0, tick)]


@hookimpl
def event_subscriptions():
    return [("cardtest.tick", received.append)]


class TickPayload(EventPayload):
    n: int = Field(description="the counter's new value")
    source: str | None = Field(default=None, description="what bumped it: beat, request")


@hookimpl
def published_events():
    return [Event("cardtest.tick", TickPayload, audience="everyone", description="The counter moved.")]


@hookimpl
def nav_items(user):
    return [NavItem("Card test", "/cardtest/", order=50)] if user is not None else []


@hookimpl
def migration_locations():
    return [str(HERE / "migrations")]


@hookimpl
def startup(app):
    app.config["CARDTEST_STARTED"] = True
