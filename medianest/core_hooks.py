"""The core's own hook implementations: it is registered as a plugin like the others."""

from __future__ import annotations

from flask import current_app, url_for

from medianest.dashboard import services_card_context
from medianest.events import CORE_EVENTS
from medianest.plugins import DashboardCard, NavItem, hookimpl
from medianest.status import prune_status_history, run_health_checks


@hookimpl
def published_events() -> list[str]:

    return list(CORE_EVENTS)


@hookimpl
def periodic_tasks() -> list:

    interval = current_app.config["MEDIANEST"].health_check_interval
    return [
        ("medianest.health-checks", interval, run_health_checks),
        ("medianest.prune-status-history", 3600, prune_status_history),
    ]


@hookimpl
def nav_items(user) -> list[NavItem]:
    if user is None:
        return []
    items = [
        NavItem("Dashboard", url_for("dashboard.index"), order=0),
        # Personal API tokens and (local accounts) the password live on the account page.
        NavItem("Account", url_for("auth.tokens_page"), order=900),
    ]
    if user.is_admin:
        items.append(NavItem("Admin", url_for("admin.index"), order=1000))
    return items


@hookimpl
def dashboard_cards(user) -> list[DashboardCard]:

    return [
        DashboardCard(
            id="services",
            title="Services",
            template="dashboard/services.html",
            context=services_card_context,
            refresh_events=("service.status",),
            order=0,
        )
    ]
