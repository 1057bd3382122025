"""The core's own hook implementations: it is registered as a plugin like the others."""

from __future__ import annotations

from flask import current_app, url_for

from medianest.admin.users import USER_DELETED
from medianest.auth.sessions import USER_FIRST_SIGN_IN
from medianest.dashboard import services_card_context
from medianest.events import NOTIFICATION, Event
from medianest.notifications import admin_notices, delivery, inbox
from medianest.notifications.tasks import purge_notifications
from medianest.plugins import DashboardCard, NavItem, hookimpl
from medianest.status import SERVICE_STATUS, prune_status_history, run_health_checks


@hookimpl
def published_events() -> list[Event]:
    return [SERVICE_STATUS, NOTIFICATION, USER_DELETED, USER_FIRST_SIGN_IN]


@hookimpl
def periodic_tasks() -> list:
    interval = current_app.config["MEDIANEST"].health_check_interval
    return [
        ("medianest.health-checks", interval, run_health_checks),
        ("medianest.prune-status-history", 3600, prune_status_history),
        ("medianest.purge-notifications", 86400, purge_notifications),
    ]


@hookimpl
def event_subscriptions() -> list:
    return [
        ("notification", inbox.keep),  # every notification lands in an inbox,
        ("notification", delivery.send_out),  # then goes out through the person's channels
        ("service.status", admin_notices.on_service_status),
        ("user.first_sign_in", admin_notices.on_first_sign_in),
    ]


@hookimpl
def nav_items(user) -> list[NavItem]:
    if user is None:
        return []
    items = [
        NavItem("Dashboard", url_for("dashboard.index"), order=0),
        NavItem("My media", url_for("my_media.page"), order=10),
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
