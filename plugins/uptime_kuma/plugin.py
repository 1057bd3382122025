"""MediaNest's uptime_kuma plugin: its hook implementations.

The health check reads the configured status page every check interval and
keeps the answer as the last good one; the card and ``/api/v1/uptime/monitors``
only read that (marked stale while Uptime Kuma is down).  A monitor whose state
changed is published as ``service.status`` (service ``uptime_kuma:<id>``), so
an outage Uptime Kuma sees reaches the dashboard within one check interval.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from medianest_uptime_kuma import kuma

from medianest.plugins import (
    DashboardCard,
    HealthCheck,
    HealthResult,
    ServiceSettings,
    hookimpl,
    publish,
)
from medianest.plugins.db import ServiceStatus, db, utcnow
from medianest.plugins.http import last_good, remember
from medianest.plugins.settings import service_config

PLUGIN_API = ">=1,<2"

log = logging.getLogger("medianest.uptime_kuma")

CACHE_KEY = "monitors"
TIMED_OUT = "SERVICE_TIMEOUT"  # the error code of a check that got no answer in time


def current(config: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the card and the API show: the last good answer, Uptime Kuma's own status, staleness."""
    from medianest.plugins.settings import stale_after

    config = service_config(kuma.SERVICE) if config is None else config
    configured = not kuma.settings_problems(config)
    row = db.session.get(ServiceStatus, kuma.SERVICE)
    status = row.to_public() if row is not None else None
    cached = last_good(kuma.SERVICE, CACHE_KEY) if configured else None
    data = cached.value if cached else None
    kuma_status = status["status"] if status else ("unconfigured" if not configured else None)
    stale = bool(cached) and (kuma_status != "online" or cached.age_seconds > stale_after().total_seconds())
    return {
        "configured": configured,
        "service": status,
        "status": kuma_status or "unknown",
        "error": status["error"] if status and kuma_status != "online" else None,
        "timed_out": bool(status and status["status"] == "offline" and status["details"].get("code") == TIMED_OUT),
        "stale": stale,
        "stored_at": cached.to_public()["stored_at"] if cached else None,
        "age_seconds": round(cached.age_seconds, 1) if cached else None,
        "title": data["title"] if data else None,
        "incident": data.get("incident") if data else None,
        "maintenance": data.get("maintenance", []) if data else [],
        "counts": data["counts"] if data else {},
        "groups": data["groups"] if data else [],
    }


def check() -> HealthResult:
    config = service_config(kuma.SERVICE)
    problems = kuma.settings_problems(config)
    if problems:
        return HealthResult("unconfigured", error=" ".join(problems.values()))
    started = time.perf_counter()
    data = kuma.fetch(kuma.client_for(config), config["slug"])
    elapsed = round((time.perf_counter() - started) * 1000, 1)
    previous = last_good(kuma.SERVICE, CACHE_KEY)
    remember(kuma.SERVICE, CACHE_KEY, data)
    publish_monitor_changes(previous.value if previous else None, data)
    monitors = sum(len(g["monitors"]) for g in data["groups"])
    return HealthResult(
        "online", elapsed, details={"monitors": monitors, **{k: v for k, v in data["counts"].items() if v}}
    )


def publish_monitor_changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    """``service.status`` for every monitor whose state differs from the last good answer."""
    if not before:
        return []
    old = {m["id"]: m["status"] for g in before.get("groups", []) for m in g.get("monitors", [])}
    changed = []
    for group in after["groups"]:
        for monitor in group["monitors"]:
            if monitor["id"] in old and old[monitor["id"]] == monitor["status"]:
                continue
            name = f"{kuma.SERVICE}:{monitor['id']}"
            publish(
                "service.status",
                {
                    "user_id": None,
                    "service": name,
                    "name": monitor["name"],
                    "source": kuma.SERVICE,
                    "status": kuma.AS_SERVICE_STATUS[monitor["status"]],
                    "monitor_status": monitor["status"],
                    "response_ms": monitor["ping"],
                    "checked_at": monitor["last_beat_at"] or utcnow().isoformat() + "Z",
                    "error": monitor["message"] or None if monitor["status"] != "up" else None,
                },
            )
            changed.append(name)
    return changed


def check_timeout() -> float:
    from medianest.plugins.http import client_options

    try:
        options = client_options(kuma.SERVICE, service_config(kuma.SERVICE))
    except Exception:  # settings unreadable: the check itself will say why
        log.warning("could not read the uptime_kuma settings", exc_info=True)
        options = client_options(kuma.SERVICE)
    # Two calls in a row (heartbeats, then the status page), plus the database work.
    return options["connect_timeout"] * 2 + options["read_timeout"] * 2 + 5


def card_context() -> dict[str, Any]:
    from medianest_uptime_kuma.views import beat_bars

    data = current()
    for group in data["groups"]:
        for monitor in group["monitors"]:
            monitor["bars"] = beat_bars(monitor["beats"])
    return {"kuma": data}


@hookimpl
def register_blueprints(app):
    from medianest_uptime_kuma.views import bp

    return [bp]


@hookimpl
def health_checks():
    return [HealthCheck(name=kuma.SERVICE, check=check, display_name=kuma.NAME, timeout=check_timeout())]


@hookimpl
def dashboard_cards(user):
    return [
        DashboardCard(
            id="uptime-kuma",
            title="Uptime Kuma",
            template="uptime_kuma/cards/monitors.html",
            context=card_context,
            refresh_events=("service.status",),
            order=10,
            wide=False,
        )
    ]


@hookimpl
def service_settings():
    return [
        ServiceSettings(
            service=kuma.SERVICE,
            title=kuma.NAME,
            description="Shows the monitors of one public status page. Uptime Kuma's status-page API needs no key.",
            model=kuma.KumaSettings,
            test_connection=kuma.test_connection,
        )
    ]
