"""MediaNest's plex plugin: its hook implementations."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from celery import shared_task
from celery.signals import beat_init
from flask import url_for
from medianest_plex import models  # noqa: F401  (the tables belong to the metadata)
from medianest_plex.config import SERVICE, PlexConfig

from medianest.plugins import (
    ConnectionResult,
    DashboardCard,
    HealthCheck,
    HealthResult,
    NavItem,
    ServiceSettings,
    SignInServer,
    hookimpl,
)
from medianest.plugins.http import ServiceError, ServiceUnauthorized
from medianest.plugins.settings import service_config

PLUGIN_API = ">=1,<2"

HERE = Path(__file__).parent
log = logging.getLogger("medianest.plex")
COMPLETED_EVENT = "youtube.download.completed"


@hookimpl
def register_blueprints(app):
    from medianest_plex.views import bp

    return [bp]


@hookimpl
def migration_locations():
    return [str(HERE / "migrations")]


@hookimpl
def published_events():
    from medianest_plex.events import COLLECTION_READY, CONTINUE_WATCHING, NOW_PLAYING, RECENTLY_ADDED

    return [COLLECTION_READY, RECENTLY_ADDED, CONTINUE_WATCHING, NOW_PLAYING]


@hookimpl
def event_subscriptions():
    from medianest_plex.downloads import on_download_completed
    from medianest_plex.home import on_first_sign_in

    return [(COMPLETED_EVENT, on_download_completed), ("user.first_sign_in", on_first_sign_in)]


@hookimpl
def sign_in_server():
    # The stored values as they are: only a server with both admits fewer people.
    values = service_config(SERVICE, ["url", "token"])
    if values.get("url") and values.get("token"):
        return SignInServer(str(values["url"]), str(values["token"]), SERVICE)
    return None


@hookimpl
def nav_items(user):
    if user is None:
        return []
    return [NavItem("Plex", url_for("plex.index"), order=30)]


# ------------------------------------------------------------------ the server's state
def server_facts(config: PlexConfig, with_counts: bool = True) -> dict[str, Any]:
    """Name, version, machine identifier and libraries (with item counts): what the card shows."""
    from medianest_plex.browse import library_count
    from medianest_plex.client import PlexServer

    plex = PlexServer(config, read_timeout=8)
    identity = plex.identity()
    facts: dict[str, Any] = {
        "name": (plex.friendly_name() if config.token else None) or _host(config.url),
        "version": identity["version"],
        "machine_identifier": identity["machine_identifier"],
    }
    if not config.token:
        facts["libraries"] = []
        return facts
    libraries = []
    for lib in plex.libraries():
        key = str(lib.get("key", ""))
        entry = {"key": key, "title": str(lib.get("title") or key), "type": str(lib.get("type") or "")}
        if with_counts and key.isdigit():
            entry["count"] = library_count(key, config)
        libraries.append(entry)
    facts["libraries"] = libraries
    return facts


def _host(url: str) -> str:
    from urllib.parse import urlparse

    return urlparse(url).netloc or url


def check_plex() -> HealthResult:
    from medianest_plex.config import plex_config

    config = plex_config()
    if not config.url:
        return HealthResult("unconfigured", error="No Plex server URL is set.")
    if not config.token:
        return HealthResult("unconfigured", error="No Plex server token is set.")
    try:
        return HealthResult("online", details=server_facts(config))
    except ServiceUnauthorized:
        return HealthResult(
            "degraded",
            error="Plex answers, but refuses the server token in MediaNest's settings.",
            details={"setting": "token"},
        )
    except ServiceError as exc:
        return HealthResult("offline", error=exc.message)


@hookimpl
def health_checks():
    return [HealthCheck(name=SERVICE, check=check_plex, display_name="Plex Media Server", timeout=20)]


def test_connection(values: dict[str, Any]) -> ConnectionResult:
    """Reads ``/identity`` (and the libraries, to prove the token works)."""
    url, token = str(values.get("url") or "").strip(), str(values.get("token") or "").strip()
    if not url:
        return ConnectionResult(False, "Enter the server's URL first.")
    config = PlexConfig(url=url, token=token, cache_minutes=0)
    try:
        facts = server_facts(config, with_counts=False)
    except ServiceUnauthorized:
        return ConnectionResult(False, "Plex answered, but refused the token.")
    except ServiceError as exc:
        return ConnectionResult(False, exc.message)
    details = {k: facts[k] for k in ("name", "version", "machine_identifier")}
    details["libraries"] = [lib["title"] for lib in facts["libraries"]]
    if not token:
        return ConnectionResult(False, f"Reached {facts['name']} ({facts['version']}); now enter a token.", details)
    return ConnectionResult(
        True,
        f"Connected to {facts['name']}, version {facts['version']}, machine {facts['machine_identifier']}.",
        details,
    )


@hookimpl
def service_settings():
    return [
        ServiceSettings(
            service=SERVICE,
            title="Plex Media Server",
            model=PlexConfig,
            test_connection=test_connection,
            description="Browse the libraries, show posters, and put finished downloads into collections.",
        )
    ]


def card_context() -> dict[str, Any]:
    from medianest.plugins.db import ServiceStatus, db

    row = db.session.get(ServiceStatus, SERVICE)
    return {"status": row.to_public() if row else None}


@hookimpl
def dashboard_cards(user):
    from medianest_plex import home

    cards = [
        DashboardCard(
            id="plex",
            title="Plex",
            template="plex/cards/server.html",
            context=card_context,
            refresh_events=("service.status", "plex.collection.ready"),
            order=20,
        )
    ]
    if user is None:
        return cards
    cards += [
        DashboardCard(
            id="plex-recently-added",
            title="Recently added to Plex",
            template="plex/cards/recently_added.html",
            context=home.recently_added_context,
            refresh_events=("plex.recently_added", "service.status"),
            order=21,
            wide=True,
        ),
        DashboardCard(
            id="plex-continue-watching",
            title="Continue watching",
            template="plex/cards/continue_watching.html",
            context=lambda: home.continue_watching_context(user),
            refresh_events=("plex.continue_watching", "service.status"),
            order=22,
        ),
    ]
    if user.is_admin:
        cards.append(
            DashboardCard(
                id="plex-now-playing",
                title="Now playing on Plex",
                template="plex/cards/now_playing.html",
                context=home.now_playing_context,
                refresh_events=("plex.now_playing", "service.status"),
                order=23,
            )
        )
    return cards


@shared_task(name="plex.prune_posters", ignore_result=True)
def prune_posters() -> None:
    """Forget posters and image paths nobody asked for in a month."""
    from datetime import timedelta

    from medianest_plex import posters
    from medianest_plex.models import PlexImagePath

    from medianest.plugins.db import db, utcnow

    posters.prune()
    cutoff = utcnow() - timedelta(days=posters.KEEP_DAYS)
    db.session.execute(db.delete(PlexImagePath).where(PlexImagePath.seen_at < cutoff))
    db.session.commit()


@hookimpl
def periodic_tasks():
    from medianest_plex import home
    from medianest_plex.downloads import resume_collections

    return [
        ("plex.prune-posters", 86400, prune_posters),
        ("plex.resume-collections", 60, resume_collections),
        ("plex.recently-added", home.HOME_SECONDS, home.recently_added_task),
        ("plex.continue-watching", home.HOME_SECONDS, home.continue_watching_task),
        ("plex.now-playing", home.now_playing_interval(), home.now_playing_task),
    ]


@hookimpl
def startup(app):
    # The collection and home tasks must be registered in every process that may consume them.
    import medianest_plex.downloads  # noqa: F401
    import medianest_plex.home  # noqa: F401

    beat_init.connect(read_home_at_start, weak=False, dispatch_uid="plex.home.read-at-start")


def read_home_at_start(sender: Any = None, **_: Any) -> None:
    """An interval entry first runs one interval after beat starts: the home cards would
    stay empty that long.  Beat (embedded or its own process) queues one read at once."""
    for task in ("plex.recently_added", "plex.continue_watching", "plex.now_playing"):
        try:
            sender.app.send_task(task)
        except Exception:  # the broker is away: the schedule's own run comes later
            log.warning("could not queue %s at start", task, exc_info=True)
