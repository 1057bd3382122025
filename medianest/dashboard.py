"""The dashboard: every plugin's cards, each refreshing itself on its events."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template
from flask_login import current_user

from medianest.access import login_required
from medianest.api import api_route, ok
from medianest.extensions import db
from medianest.models import ServiceStatus
from medianest.plugins.types import DashboardCard

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
    """The status of every service, from the last health checks."""
    rows = db.session.scalars(db.select(ServiceStatus).order_by(ServiceStatus.service))
    return ok([row.to_public() for row in rows])
