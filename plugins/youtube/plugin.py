"""MediaNest's youtube plugin: its hook implementations."""

from __future__ import annotations

from pathlib import Path

from flask import url_for

from medianest.plugins import BackupFolder, DashboardCard, ErrorCode, NavItem, RateLimit, hookimpl

PLUGIN_API = ">=1,<2"

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
    from medianest_youtube.events import EVENTS as DECLARED

    return list(DECLARED)


@hookimpl
def event_subscriptions():
    from medianest_youtube.accounts import on_user_deleted
    from medianest_youtube.downloads import on_collection_ready

    return [("plex.collection.ready", on_collection_ready), ("user.deleted", on_user_deleted)]


@hookimpl
def error_codes():
    return [
        ErrorCode("INVALID_URL", 400, "The address is not a video or playlist address."),
        ErrorCode("HOST_NOT_ALLOWED", 400, "The address's site is not on the allowed list."),
        ErrorCode("QUOTA_EXCEEDED", 403, "The person's download quota is used up."),
        ErrorCode("INSUFFICIENT_STORAGE", 507, "The download folder's disk is full."),
    ]


@hookimpl
def rate_limits():
    from medianest_youtube.config import RATE_LIMIT

    return [RateLimit(RATE_LIMIT, "5/hour", "new downloads per person")]


@hookimpl
def backup_folders():
    from medianest_youtube.config import download_root

    return [BackupFolder("downloads", download_root, "the downloaded videos, a folder per person")]


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
