"""The dashboard: every plugin's cards, each refreshing itself on its events."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template
from flask_login import current_user

from medianest.access import login_required
from medianest.api import api_route, ok
from medianest.plugins.types import DashboardCard
from medianest.status import service_overview

bp = Blueprint("dashboard", __name__)


def cards_for(user) -> list[DashboardCard]:
    host = current_app.extensions["medianest.plugins"]
    cards: dict[str, DashboardCard] = {}
    for _plugin, card in host.collect("dashboard_cards", user=user):
        cards.setdefault(card.id, card)
    return sorted(cards.values(), key=lambda c: (c.order, c.id))


def render_card(card: DashboardCard) -> str:
    host = current_app.extensions["medianest.plugins"]
    try:
        context = dict(card.render_context())
        body = render_template(card.template, card=card, user=current_user, **context)
        error = None
    except Exception as exc:
        current_app.logger.exception("card %s failed to render", card.id)
        body, error = "", "This card could not be shown; the error is in the log."
        del exc
    del host
    return render_template("dashboard/card.html", card=card, body=body, error=error)


@bp.get("/")
@login_required
def index():
    """The dashboard page."""
    cards = cards_for(current_user)
    return render_template("dashboard/index.html", cards=[(c, render_card(c)) for c in cards])


@bp.get("/dashboard/cards/<card_id>")
@login_required
def card(card_id: str):
    """One card's fragment (htmx refreshes it on its events)."""
    for candidate in cards_for(current_user):
        if candidate.id == card_id:
            response = current_app.make_response(render_card(candidate))
            response.headers["Vary"] = "HX-Request"
            return response
    abort(404)


@bp.get("/api/v1/dashboard/status")
@api_route(summary="Every service's last recorded status (never a live call)", tags=["dashboard"])
@login_required
def status():
    """The status of every service, from the last health checks.

    Each item: ``service``, ``name``, ``status`` (online/degraded/offline/unconfigured),
    ``response_ms``, ``error``, ``checked_at``, ``changed_at``, ``breaker``,
    ``uptime_24h`` (percent, null without history), ``recent`` (the last checks,
    oldest first), ``age_seconds`` and ``stale`` (true when the checks stopped
    running).  Read from the status record; no service is called.
    """
    settings = current_app.config["MEDIANEST"]
    return ok(service_overview(), meta={"check_interval_seconds": settings.health_check_interval})


def sparkline(recent: list[dict], width: int = 100, height: int = 24) -> dict:
    """Geometry of a response-time sparkline (inline SVG, drawn server-side).

    Returns ``points`` for a ``<polyline>``, the x of every check that failed
    (``down``) and the largest response time drawn (``max_ms``).
    """
    if not recent:
        return {"points": "", "down": [], "max_ms": None, "width": width, "height": height}
    step = width / max(1, len(recent) - 1) if len(recent) > 1 else 0
    values = [r["response_ms"] for r in recent if r.get("response_ms") is not None and r["status"] != "offline"]
    top = max(values) if values else 1.0
    top = top or 1.0
    points, down = [], []
    for i, r in enumerate(recent):
        x = round(i * step, 1)
        if r["status"] == "offline" or r.get("response_ms") is None:
            down.append(x)
            continue
        y = round(height - 2 - (height - 4) * (r["response_ms"] / top), 1)
        points.append(f"{x},{y}")
    return {
        "points": " ".join(points),
        "down": down,
        "max_ms": round(top, 1) if values else None,
        "width": width,
        "height": height,
    }


def services_card_context() -> dict:
    services = service_overview()
    for item in services:
        item["spark"] = sparkline(item["recent"])
    return {"services": services}
