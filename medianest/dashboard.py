"""The dashboard: every plugin's cards, each loading and refreshing itself on its events.

A card's time is bounded.  The page never renders a card: it sends each
card's frame, which fetches the card from ``/dashboard/cards/<id>`` once the
page has loaded (htmx ``load``) and again on the card's events, so a slow card
holds nobody but itself.  That route renders the card under the card budget
(``MEDIANEST_CARD_BUDGET_SECONDS``); a card that overruns it answers its
"late" frame, which tries again by itself a little later.

The budget is a ``gevent.Timeout``: both ways of serving MediaNest run on
gevent (``medianest run`` embedded: gevent's server after ``monkey.patch_all``;
production: gunicorn's gevent worker), where a card waiting on the network, a
query or a sleep is interrupted at its deadline and its connections are given
back.  A card that computes without ever yielding cannot be interrupted; the
page still does not wait for it.  In a process gevent did not patch (the test
client, ``flask run``) nothing can interrupt a render, so the card is simply
rendered; the page is still answered without it.

With JavaScript off the page sends the browser to ``/?cards=inline``, which
renders every card on the page as before, each within its own budget (a late
card links to its own page), so that page takes at most one budget per card.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

import gevent
from flask import Blueprint, abort, current_app, render_template, request
from flask_login import current_user
from gevent import monkey

from medianest.access import login_required
from medianest.api import api_route, ok
from medianest.contributions import DashboardCard
from medianest.pages import page_or_fragment
from medianest.status import service_overview

bp = Blueprint("dashboard", __name__)
log = logging.getLogger("medianest.dashboard")

# A late card asks again after this long (or sooner, on one of its events).
LATE_RETRY_SECONDS = 15


class CardLate(Exception):
    """A card's render overran its budget."""


def cards_for(user) -> list[DashboardCard]:
    host = current_app.extensions["medianest.plugins"]
    cards: dict[str, DashboardCard] = {}
    for _plugin, card in host.collect("dashboard_cards", user=user):
        cards.setdefault(card.id, card)
    return sorted(cards.values(), key=lambda c: (c.order, c.id))


def card_budget() -> float:
    """Seconds a card may take to render (``MEDIANEST_CARD_BUDGET_SECONDS``)."""
    return current_app.config["MEDIANEST"].card_budget_seconds


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Raise :class:`CardLate` in the block once ``seconds`` have passed (under gevent; see the module)."""
    if not monkey.is_module_patched("socket"):
        yield
        return
    # gevent.Timeout is a BaseException: a card's own ``except Exception`` cannot swallow it.
    try:
        with gevent.Timeout(seconds) as timeout:
            yield
    except gevent.Timeout as exc:
        if exc is not timeout:
            raise
        raise CardLate from None


def _triggers(card: DashboardCard) -> str:
    return ", ".join([*(f"{event} from:body" for event in card.refresh_events), "socket.reconnected from:body"])


def card_frame(card: DashboardCard, state: str = "pending") -> str:
    """The card's frame without its body: ``pending`` (loads itself) or ``late`` (tries again later)."""
    return render_template(
        "dashboard/card.html",
        card=card,
        state=state,
        triggers=_triggers(card),
        budget=card_budget(),
        retry_seconds=LATE_RETRY_SECONDS,
    )


def render_card(card: DashboardCard) -> str:
    """The card in its frame, rendered within the card budget (else its late frame)."""
    started = time.monotonic()
    try:
        with within(card_budget()):
            context = dict(card.render_context())
            body = render_template(card.template, card=card, user=current_user, **context)
        error = None
    except CardLate:
        log.warning("card %s took longer than %.3g s; shown as late", card.id, time.monotonic() - started)
        return card_frame(card, "late")
    except Exception:
        current_app.logger.exception("card %s failed to render", card.id)
        body, error = "", "This card could not be shown; the error is in the log."
    return render_template(
        "dashboard/card.html", card=card, state="ready", triggers=_triggers(card), body=body, error=error
    )


@bp.get("/")
@login_required
def index():
    """The dashboard page: the cards' frames, each loading itself (``?cards=inline``: the cards themselves)."""
    cards = cards_for(current_user)
    inline = request.args.get("cards") == "inline"
    if inline:
        # Each card within its own budget: a hung card costs the page one budget, not the other cards.
        html = [(c, render_card(c)) for c in cards]
    else:
        html = [(c, card_frame(c)) for c in cards]
    return render_template("dashboard/index.html", cards=html, inline=inline)


@bp.get("/dashboard/cards/<card_id>")
@login_required
def card(card_id: str):
    """One card: the fragment for htmx, or a page of its own (links from the page without JavaScript)."""
    for candidate in cards_for(current_user):
        if candidate.id == card_id:
            html = render_card(candidate)
            return page_or_fragment("dashboard/card_page.html", fragment_html=html, card=candidate, html=html)
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
    # A check that found the service not set up is no outage: it is not drawn at all.
    recent = [r for r in recent if r.get("status") != "unconfigured"]
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
