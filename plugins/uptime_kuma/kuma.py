"""Reading an Uptime Kuma (1.23) public status page: its monitors, their heartbeats and uptime.

Two unauthenticated calls, both with ``x-apicache-bypass: true`` (Uptime Kuma
otherwise replays answers up to 5 minutes old):

* ``GET /api/status-page/heartbeat/<slug>`` — beats per monitor id (a string),
  oldest first, ``time`` in UTC without a zone; ``uptimeList["<id>_24"]``.
  Answers for any slug (an unknown one has no monitors).
* ``GET /api/status-page/<slug>`` — groups and their monitors.  An unknown
  slug never answers at all, so the heartbeat call goes first: when it
  answers and the status page doesn't, the slug is what's wrong.
"""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

from medianest.plugins import ConnectionResult
from medianest.plugins.http import (
    ServiceBadAnswer,
    ServiceBreaker,
    ServiceClient,
    ServiceError,
    ServiceTimeout,
    ServiceUnauthorized,
    ServiceUnreachable,
    client_options,
    json_of,
)
from medianest.plugins.settings import URL, setting
from medianest.plugins.settings import settings_problems as problems_of

SERVICE = "uptime_kuma"
NAME = "Uptime Kuma"
HEADERS = {"x-apicache-bypass": "true", "Accept": "application/json"}
MAX_BYTES = 4 * 1024 * 1024  # a few hundred monitors x 50 beats fit easily
BEATS_KEPT = 30
STATUS_NAMES = {0: "down", 1: "up", 2: "pending", 3: "maintenance"}
# A monitor's state in the words of MediaNest's service.status event.
AS_SERVICE_STATUS = {
    "up": "online",
    "down": "offline",
    "pending": "degraded",
    "maintenance": "degraded",
    "unknown": "degraded",
}
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class WrongSlug(ServiceError):
    """Uptime Kuma answered its heartbeat endpoint, but the status page never came: the slug is unknown."""

    code_name = "SERVICE_TIMEOUT"
    http_status = 504


TIMEOUT_HELP = "default: the server-wide setting ({} s)"


class KumaSettings(BaseModel):
    """The settings form, and what a check needs before it can run."""

    model_config = ConfigDict(str_strip_whitespace=True)

    url: URL = setting(
        "URL", help="e.g. http://uptime-kuma:3001", missing="Enter Uptime Kuma's address, e.g. http://uptime-kuma:3001."
    )
    slug: str = setting(
        "Status-page slug",
        help="the last part of /status/<slug>",
        missing="Enter the slug of a status page (the last part of its address, /status/<slug>).",
    )
    api_key: SecretStr = setting("API key", None, kind="text", help="optional; only for Uptime Kuma's /metrics")
    connect_timeout: float | None = setting("Connect timeout (s)", None, gt=0, le=120, help=TIMEOUT_HELP.format(3))
    read_timeout: float | None = setting("Read timeout (s)", None, gt=0, le=120, help=TIMEOUT_HELP.format(10))

    @field_validator("slug")
    @classmethod
    def _slug(cls, slug: str) -> str:
        if not SLUG_RE.match(slug.lower()):
            raise ValueError("A status-page slug has only letters, digits and dashes.")
        return slug


def settings_problems(config: dict[str, Any]) -> dict[str, str]:
    """Field -> message for values that can't work (used on save and before every check)."""
    return problems_of(KumaSettings, config)


def client_for(config: dict[str, Any]) -> ServiceClient:
    return ServiceClient.for_service(
        SERVICE, config["url"].strip(), headers=HEADERS, name=NAME, **client_options(SERVICE, config)
    )


def fetch(client: ServiceClient, slug: str) -> dict[str, Any]:
    """Both answers, parsed into MediaNest's shape (see :func:`parse`)."""
    slug = slug.strip().lower()
    beats = json_of(client.get(f"/api/status-page/heartbeat/{slug}", retry=False, max_bytes=MAX_BYTES), SERVICE, NAME)
    try:
        page = json_of(client.get(f"/api/status-page/{slug}", retry=False, max_bytes=MAX_BYTES), SERVICE, NAME)
    except ServiceTimeout:
        raise WrongSlug(
            SERVICE,
            f"{NAME} answered, but its status page '{slug}' did not answer in {client.timeout[1]:g} s "
            "(timed out). Uptime Kuma never answers an unknown slug: check the slug.",
        ) from None
    return parse(page, beats)


def parse(page: Any, beats: Any) -> dict[str, Any]:
    """Groups of monitors with status, 24 h uptime and the last beats; raises ServiceBadAnswer on a wrong shape."""
    if not isinstance(page, dict) or not isinstance(page.get("publicGroupList"), list):
        raise ServiceBadAnswer(SERVICE, f"The answer is not an {NAME} status page (no publicGroupList).")
    if not isinstance(beats, dict) or not isinstance(beats.get("heartbeatList"), dict):
        raise ServiceBadAnswer(SERVICE, f"The answer is not {NAME}'s heartbeat list (no heartbeatList).")
    beat_lists = beats.get("heartbeatList") or {}
    uptimes = beats.get("uptimeList") if isinstance(beats.get("uptimeList"), dict) else {}
    counts = {"up": 0, "down": 0, "pending": 0, "maintenance": 0, "unknown": 0}
    groups = []
    for group in page["publicGroupList"]:
        if not isinstance(group, dict):
            continue
        monitors = []
        for item in group.get("monitorList") or []:
            if not isinstance(item, dict) or "id" not in item:
                continue
            monitor = _monitor(item, beat_lists.get(str(item["id"])), uptimes.get(f"{item['id']}_24"))
            counts[monitor["status"]] += 1
            monitors.append(monitor)
        groups.append({"name": str(group.get("name") or "Monitors"), "monitors": monitors})
    config = page.get("config") if isinstance(page.get("config"), dict) else {}
    incident = page.get("incident") if isinstance(page.get("incident"), dict) else None
    maintenance = page.get("maintenanceList") if isinstance(page.get("maintenanceList"), list) else []
    return {
        "title": str(config.get("title") or NAME),
        "incident": {"title": incident.get("title"), "content": incident.get("content"), "style": incident.get("style")}
        if incident
        else None,
        "maintenance": [str(m.get("title")) for m in maintenance if isinstance(m, dict) and m.get("title")],
        "groups": groups,
        "counts": counts,
        "fetched_at": datetime.now(UTC).replace(tzinfo=None).isoformat() + "Z",
    }


def _monitor(item: dict[str, Any], beats: Any, uptime: Any) -> dict[str, Any]:
    clean = []
    for beat in beats if isinstance(beats, list) else []:
        if not isinstance(beat, dict):
            continue
        status = STATUS_NAMES.get(beat.get("status"), "unknown")
        clean.append(
            {
                "status": status,
                "time": kuma_time(beat.get("time")),
                "ping": _finite(beat.get("ping")),
                "msg": str(beat.get("msg") or "")[:300],
            }
        )
    clean = clean[-BEATS_KEPT:]
    last = clean[-1] if clean else None
    try:
        uptime_pct = _finite(round(float(uptime) * 100, 2)) if uptime is not None else None
    except (TypeError, ValueError, OverflowError):
        uptime_pct = None
    return {
        "id": item["id"],
        "name": str(item.get("name") or f"Monitor {item['id']}"),
        "type": item.get("type"),
        "status": last["status"] if last else "unknown",
        "uptime_24h": uptime_pct,
        "ping": last["ping"] if last else None,
        "message": last["msg"] if last else "",
        "last_beat_at": last["time"] if last else None,
        "beats": [{"status": b["status"], "time": b["time"], "ping": b["ping"]} for b in clean],
    }


def _finite(value: Any) -> int | float | None:
    """A number JSON and the database can hold (not a boolean, infinity or NaN), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if math.isfinite(value) else None


def kuma_time(value: Any) -> str | None:
    """``2026-11-21 23:25:36.287`` (UTC, no zone) -> ``2026-11-21T23:25:36.287000Z``."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace(" ", "T").removesuffix("Z"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        try:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:  # e.g. year 1 with a zone east of UTC
            return None
    return parsed.isoformat() + "Z"


def test_connection(config: dict[str, Any]) -> ConnectionResult:
    """Say plainly why these settings don't reach a status page.

    Refused, timed out, wrong slug, wrong key, or not Uptime Kuma at all.
    """
    problems = settings_problems(config)
    if problems:
        return ConnectionResult(False, " ".join(problems.values()), {"fields": problems})
    url = config["url"].strip()
    slug = config["slug"].strip().lower()
    options = client_options(SERVICE, config)
    # A client of its own: a test must neither trip nor be stopped by the breaker of the running service.
    client = ServiceClient(
        SERVICE,
        url,
        headers=HEADERS,
        name=NAME,
        connect_timeout=min(options["connect_timeout"], 5),
        read_timeout=min(options["read_timeout"], 8),
        retries=0,
        breaker=ServiceBreaker(fail_max=10**6, reset_timeout=1, name=f"{SERVICE}-test"),
    )
    started = time.perf_counter()
    try:
        try:
            response = client.get(f"/api/status-page/heartbeat/{slug}", retry=False, max_bytes=MAX_BYTES)
        except ServiceBadAnswer as exc:
            status = exc.details.get("status")
            if status == 404:
                return ConnectionResult(
                    False, f"Something answers at {url}, but it is not {NAME} (404 on its status-page API)."
                )
            return ConnectionResult(False, f"{NAME} at {url} answered with an error: {exc.message}")
        try:
            beats = json_of(response, SERVICE, NAME)
        except ServiceBadAnswer:
            kind = response.headers.get("Content-Type", "unknown type")
            return ConnectionResult(
                False, f"Something answers at {url}, but it is not {NAME} (it sent {kind}, not JSON)."
            )
        if not isinstance(beats, dict) or "heartbeatList" not in beats:
            return ConnectionResult(False, f"Something answers at {url}, but it is not {NAME} (no heartbeat list).")
        try:
            page = json_of(client.get(f"/api/status-page/{slug}", retry=False, max_bytes=MAX_BYTES), SERVICE, NAME)
        except ServiceTimeout:
            return ConnectionResult(
                False,
                f"{NAME} answered, but has no status page '{slug}' (it never answers an unknown slug; "
                f"waited {client.timeout[1]:g} s). Check the slug.",
            )
        data = parse(page, beats)
        if config.get("api_key"):
            message = _check_api_key(client, config["api_key"])
            if message:
                return ConnectionResult(False, message)
        monitors = sum(len(g["monitors"]) for g in data["groups"])
        elapsed = round((time.perf_counter() - started) * 1000)
        return ConnectionResult(
            True,
            f"Connected to {NAME}: status page '{data['title']}' with {monitors} monitor(s), in {elapsed} ms.",
            {"monitors": monitors, "response_ms": elapsed},
        )
    except ServiceTimeout:
        return ConnectionResult(
            False, f"{url} accepted the connection but did not answer in {client.timeout[1]:g} s (timed out)."
        )
    except ServiceUnreachable as exc:
        if "refused" in exc.message:
            return ConnectionResult(
                False, f"Nothing answers at {url} (connection refused). Is {NAME} running on that port?"
            )
        return ConnectionResult(False, f"{url} could not be reached: {exc.message}")
    except ServiceBadAnswer as exc:
        return ConnectionResult(False, f"{NAME} at {url} sent an answer MediaNest cannot use: {exc.message}")
    except ServiceError as exc:
        return ConnectionResult(False, exc.message)
    finally:
        client.close()


def _check_api_key(client: ServiceClient, api_key: str) -> str | None:
    """``/metrics`` takes the key as HTTP Basic password (``:uk<id>_<secret>``); ``None`` when accepted."""
    import base64

    token = base64.b64encode(f":{api_key}".encode()).decode()
    try:
        client.get("/metrics", headers={"Authorization": f"Basic {token}", "Accept": "text/plain"}, retry=False)
    except ServiceUnauthorized:
        return f"{NAME} refused the API key (wrong key, or it was revoked). The status page itself works."
    return None
