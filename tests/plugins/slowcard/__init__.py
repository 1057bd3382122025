"""A throw-away plugin with a card that calls its "service" while rendering, and the service never answers.

The card's context sleeps ``SLOWCARD_SECONDS`` (30 by default), as a card that
calls a hung service directly would; a second card renders at once.  Both
are for checking that one slow card holds neither the dashboard nor the
other cards.
"""

from __future__ import annotations

import os
import time

from flask import Blueprint

from medianest.plugins import DashboardCard, hookimpl

bp = Blueprint("slowcard", __name__, template_folder="templates")


def _hung_service() -> dict:
    time.sleep(float(os.environ.get("SLOWCARD_SECONDS", "30")))
    return {"answer": "finally"}


@hookimpl
def register_blueprints(app):
    return [bp]


@hookimpl
def dashboard_cards(user):
    slow = [] if os.environ.get("SLOWCARD_OFF") == "1" else [_slow_card()]
    return [
        *slow,
        DashboardCard(
            id="slowcard-quick",
            title="Quick card",
            template="slowcard/cards/quick.html",
            context=lambda: {"answer": "at once"},
            order=2,
        ),
    ]


def _slow_card() -> DashboardCard:
    return DashboardCard(
        id="slowcard",
        title="Slow card",
        template="slowcard/cards/slow.html",
        context=_hung_service,
        refresh_events=("service.status",),
        order=1,
    )
