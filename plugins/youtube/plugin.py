"""MediaNest's youtube plugin: its hook implementations."""

from __future__ import annotations

from pathlib import Path

from flask import url_for

from medianest.plugins import DashboardCard, NavItem, hookimpl

EVENTS = [f"youtube.download.{name}" for name in ("queued", "progress", "completed", "failed", "cancelled")]
DISPATCH_INTERVAL = 30.0


@hookimpl
def register_blueprints(app):
    from medianest_youtube.views import bp

    return [bp]


@hookimpl
def migration_locations():
    return [str(Path(__file__).resolve().parent / "migrations")]


@hookimpl
def published_events():
    return list(EVENTS)


@hookimpl
def event_subscriptions():
    from medianest_youtube.accounts import on_user_deleted
    from medianest_youtube.downloads import on_collection_ready

    return [("plex.collection.ready", on_collection_ready), ("user.deleted", on_user_deleted)]


@hookimpl
def service_settings():
    from medianest_youtube.config import settings_form

    return [settings_form()]


@hookimpl
def periodic_tasks():
    from medianest_youtube.tasks import dispatch_queued

    return [("youtube.dispatch", DISPATCH_INTERVAL, dispatch_queued)]


@hookimpl
def media_items(user):
    from medianest_youtube.media_items import media_items as items_of

    return items_of(user)


@hookimpl
def nav_items(user):
    if user is None:
        return []
    return [NavItem("Downloads", url_for("youtube.index"), order=40)]


@hookimpl
def dashboard_cards(user):
    from medianest_youtube.card import card_context

    return [
        DashboardCard(
            id="youtube-downloads",
            title="Downloads",
            template="youtube/cards/downloads.html",
            context=lambda: card_context(user),
            refresh_events=tuple(EVENTS),
            order=40,
        )
    ]


@hookimpl
def startup(app):
    from medianest_youtube import tasks

    tasks.bind_app(app)
