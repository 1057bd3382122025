"""Stand-in for Uptime Kuma 1.23.16: public status page, heartbeats, /metrics.

Reproduces what ``tests/contracts/uptime-kuma/`` recorded from the real
server (no authentication on the status-page API):

* ``GET /api/status-page/<slug>`` -> ``{"config", "incident",
  "publicGroupList", "maintenanceList"}`` (``status-page.json``). An unknown
  slug NEVER answers: the real handler returns without sending anything, so
  a client without a read timeout waits forever. Here the request hangs until
  the client gives up, ``stop()`` is called, or ``hang_seconds`` pass.
* ``GET /api/status-page/heartbeat/<slug>`` -> ``{"heartbeatList",
  "uptimeList"}`` (``heartbeat.json``): beats keyed by monitor id as a string,
  at most 50 per monitor, oldest first, ``time`` in UTC without a zone marker
  (``YYYY-MM-DD HH:MM:SS.mmm``), status 0 down / 1 up / 2 pending /
  3 maintenance, ``uptimeList`` keyed ``"<id>_24"``. An unknown slug answers
  ``{"heartbeatList":{},"uptimeList":{}}`` (no monitor belongs to it).
* Both are cached by apicache (status page 5 min, heartbeat 1 min) per URL:
  a cached answer is replayed byte for byte (same headers, old data) until it
  expires, unless the request carries ``x-apicache-bypass`` (any non-empty
  value, like apicache) — then the answer is fresh, not stored, and carries
  no ``Cache-Control`` header.
* ``GET /metrics`` -> Prometheus text (``metrics.txt``) behind HTTP Basic:
  the admin's username/password until an API key exists, then only
  ``:uk<id>_<secret>`` (username ignored). Failure: 401, empty body,
  ``WWW-Authenticate: Basic`` (express-basic-auth with ``challenge: true``).

Fault modes for tests: ``set_hang`` (every endpoint hangs), ``set_malformed``
(truncated JSON body), ``set_huge`` (a valid body of several MB).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Response, request

from tests.standins.base import Standin

DOWN = 0
UP = 1
PENDING = 2
MAINTENANCE = 3

MAX_BEATS = 50
STATUS_PAGE_TTL = 300.0  # apicache "5 minutes"
HEARTBEAT_TTL = 60.0  # apicache "1 minutes"
JSON_TYPE = "application/json; charset=utf-8"
METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def kuma_time(when: datetime | None = None) -> str:
    """A heartbeat ``time`` as Uptime Kuma 1.23 sends it: UTC, no zone, ms."""
    when = (when or datetime.now(UTC)).astimezone(UTC)
    return when.strftime("%Y-%m-%d %H:%M:%S.") + f"{when.microsecond // 1000:03d}"


@dataclass
class Monitor:
    id: int
    name: str
    type: str = "http"
    url: str = "https://"
    group: str | None = None
    send_url: int = 0
    beats: list[dict[str, Any]] = field(default_factory=list)
    uptime_override: float | None = None


@dataclass
class _CacheEntry:
    body: bytes
    headers: dict[str, str]
    expires: float


class UptimeKumaStandin(Standin):
    """Uptime Kuma 1.23.16 as MediaNest sees it (status page ``slug``).

    Starts with the captured fixture: group 4 "Services" holding monitors
    1 ``medianest-up`` (two UP beats) and 2 ``medianest-down`` (two DOWN beats).
    """

    name = "uptime-kuma"

    def __init__(
        self,
        slug: str = "household",
        *,
        username: str = "admin",
        password: str = "admin-password",
        title: str = "MediaNest",
        description: str | None = "MediaNest peer test",
        seed: bool = True,
        hang_seconds: float = 300.0,
    ) -> None:
        super().__init__()
        self.slug = slug.lower()
        self.username = username
        self.password = password
        self.api_keys: dict[int, str] = {}  # id -> secret; non-empty => keys only
        self.disable_auth = False
        self.hang_seconds = hang_seconds
        self.config: dict[str, Any] = {
            "slug": self.slug,
            "title": title,
            "description": description,
            "icon": "/icon.svg",
            "theme": "auto",
            "published": True,
            "showTags": False,
            "customCSS": None,
            "footerText": None,
            "showPoweredBy": True,
            "googleAnalyticsId": None,
            "showCertificateExpiry": False,
        }
        self.incident: dict[str, Any] | None = None
        self.groups: dict[str, dict[str, Any]] = {}  # name -> {id, name, weight}
        self.monitors: dict[int, Monitor] = {}
        self.hang = False
        self.malformed = False
        self.huge = False
        self.huge_bytes = 6 * 1024 * 1024
        self.cache_ttls = {"status-page": STATUS_PAGE_TTL, "heartbeat": HEARTBEAT_TTL}
        self.cache_hits = 0
        self.cache_misses = 0
        self._cache: dict[str, _CacheEntry] = {}
        self._state = threading.RLock()

        if seed:
            self._add_group("Services", group_id=4)
            self.add_monitor(1, "medianest-up", "Services", url="http://127.0.0.1:8099/")
            self.add_monitor(2, "medianest-down", "Services", url="http://127.0.0.1:8098/")
            start = datetime.now(UTC) - timedelta(seconds=16)
            self.set_monitor_status(1, UP, ping=12, when=start)
            self.set_monitor_status(2, DOWN, when=start)
            self.set_monitor_status(1, UP, ping=9)
            self.set_monitor_status(2, DOWN)

        self._routes()

    # ------------------------------------------------------------------ helpers

    def _add_group(self, name: str, group_id: int | None = None) -> dict[str, Any]:
        with self._state:
            if name not in self.groups:
                ids = [g["id"] for g in self.groups.values()]
                gid = group_id if group_id is not None else max(ids, default=0) + 1
                self.groups[name] = {"id": gid, "name": name, "weight": len(self.groups) + 1}
            return self.groups[name]

    def add_monitor(
        self,
        id: int,
        name: str,
        group: str | None = "Services",
        *,
        type: str = "http",
        url: str = "https://",
    ) -> Monitor:
        """Create (or replace) a monitor; ``group`` puts it on the status page.

        ``group=None`` makes a monitor that is not public: it appears in
        ``/metrics`` but not in the status-page or heartbeat answers.
        """
        with self._state:
            if group is not None:
                self._add_group(group)
            old = self.monitors.get(id)
            mon = Monitor(id=id, name=name, type=type, url=url, group=group)
            if old is not None:
                mon.beats = old.beats
            self.monitors[id] = mon
            return mon

    def remove_monitor(self, id: int) -> None:
        with self._state:
            self.monitors.pop(id, None)

    def set_monitor_status(
        self,
        monitor_id: int,
        status: int,
        msg: str = "",
        *,
        ping: int | None = None,
        when: datetime | None = None,
    ) -> dict[str, Any]:
        """Append a heartbeat (newest last) and keep only the last 50.

        ``ping`` defaults to 10 ms for UP beats and ``null`` otherwise, as in
        the capture. Does NOT clear the cache: like the real server, a cached
        answer stays stale until it expires or the client bypasses it.
        """
        if status not in (DOWN, UP, PENDING, MAINTENANCE):
            raise ValueError(f"status must be 0..3, not {status!r}")
        if ping is None and status == UP:
            ping = 10
        beat = {"status": status, "time": kuma_time(when), "msg": msg, "ping": ping}
        with self._state:
            mon = self.monitors.get(monitor_id)
            if mon is None:
                mon = self.add_monitor(monitor_id, f"monitor-{monitor_id}", "Services")
            mon.beats.append(beat)
            del mon.beats[:-MAX_BEATS]
        return beat

    def set_uptime(self, monitor_id: int, value: float | None) -> None:
        """Force ``uptimeList["<id>_24"]`` (None: compute it from the beats)."""
        with self._state:
            self.monitors[monitor_id].uptime_override = value

    def set_incident(self, title: str | None, content: str = "", style: str = "warning") -> dict[str, Any] | None:
        """Pin an incident on the status page (``title=None`` removes it)."""
        with self._state:
            if title is None:
                self.incident = None
            else:
                now = kuma_time()
                self.incident = {
                    "id": 1,
                    "style": style,
                    "title": title,
                    "content": content,
                    "pin": True,
                    "createdDate": now,
                    "lastUpdatedDate": None,
                }
            return self.incident

    def add_api_key(self, key_id: int = 1, secret: str = "medianest-secret") -> str:
        """Create an API key; from now on /metrics only accepts ``:uk<id>_<secret>``."""
        with self._state:
            self.api_keys[key_id] = secret
        return f"uk{key_id}_{secret}"

    def set_hang(self, on: bool = True) -> None:
        """Every endpoint accepts the request and never answers."""
        self.hang = on

    def set_malformed(self, on: bool = True) -> None:
        """JSON endpoints answer 200 with a truncated (unparseable) body."""
        self.malformed = on

    def set_huge(self, on: bool = True, size: int | None = None) -> None:
        """Endpoints answer a valid body of ``huge_bytes`` (default 6 MiB)."""
        self.huge = on
        if size is not None:
            self.huge_bytes = size

    def clear_cache(self) -> None:
        """Forget every cached answer (as if the TTLs had run out)."""
        with self._state:
            self._cache.clear()

    @property
    def status_page_url(self) -> str:
        return f"{self.url}/api/status-page/{self.slug}"

    @property
    def heartbeat_url(self) -> str:
        return f"{self.url}/api/status-page/heartbeat/{self.slug}"

    @property
    def metrics_url(self) -> str:
        return f"{self.url}/metrics"

    # --------------------------------------------------------------- payloads

    def _public_monitors(self, group_name: str) -> list[Monitor]:
        return [m for m in self.monitors.values() if m.group == group_name]

    def status_page_payload(self) -> dict[str, Any]:
        with self._state:
            groups = sorted(self.groups.values(), key=lambda g: g["weight"])
            return {
                "config": dict(self.config),
                "incident": dict(self.incident) if self.incident else None,
                "publicGroupList": [
                    {
                        "id": g["id"],
                        "name": g["name"],
                        "weight": g["weight"],
                        "monitorList": [
                            {"id": m.id, "name": m.name, "sendUrl": m.send_url, "type": m.type}
                            for m in self._public_monitors(g["name"])
                        ],
                    }
                    for g in groups
                ],
                "maintenanceList": [],
            }

    def heartbeat_payload(self, slug: str | None = None) -> dict[str, Any]:
        slug = self.slug if slug is None else slug.lower()
        heartbeats: dict[str, list[dict[str, Any]]] = {}
        uptimes: dict[str, float] = {}
        if slug != self.slug:
            return {"heartbeatList": heartbeats, "uptimeList": uptimes}
        with self._state:
            for g in sorted(self.groups.values(), key=lambda g: g["weight"]):
                for m in self._public_monitors(g["name"]):
                    heartbeats[str(m.id)] = [dict(b) for b in m.beats[-MAX_BEATS:]]
                    uptimes[f"{m.id}_24"] = self._uptime_24(m)
        return {"heartbeatList": heartbeats, "uptimeList": uptimes}

    @staticmethod
    def _uptime_24(m: Monitor) -> float:
        """Share of UP/MAINTENANCE beats in the last 24 h (1.23 counts both up)."""
        if m.uptime_override is not None:
            return m.uptime_override
        cutoff = kuma_time(datetime.now(UTC) - timedelta(hours=24))
        recent = [b for b in m.beats if b["time"] >= cutoff]
        if not recent:
            return 0
        up = sum(1 for b in recent if b["status"] in (UP, MAINTENANCE))
        ratio = up / len(recent)
        return int(ratio) if ratio in (0, 1) else ratio

    def metrics_text(self) -> str:
        lines = [
            "# HELP monitor_cert_days_remaining The number of days remaining until the certificate expires",
            "# TYPE monitor_cert_days_remaining gauge",
            "",
            "# HELP monitor_cert_is_valid Is the certificate still valid? (1 = Yes, 0= No)",
            "# TYPE monitor_cert_is_valid gauge",
            "",
            "# HELP monitor_response_time Monitor Response Time (ms)",
            "# TYPE monitor_response_time gauge",
        ]
        with self._state:
            mons = [m for m in self.monitors.values() if m.beats]
            labels = {
                m.id: (
                    f'monitor_name="{m.name}",monitor_type="{m.type}",'
                    f'monitor_url="{m.url}",monitor_hostname="null",monitor_port="null"'
                )
                for m in mons
            }
            for m in mons:
                ping = m.beats[-1]["ping"]
                lines.append(f"monitor_response_time{{{labels[m.id]}}} {ping if ping is not None else -1}")
            lines += [
                "",
                "# HELP monitor_status Monitor Status (1 = UP, 0= DOWN, 2= PENDING, 3= MAINTENANCE)",
                "# TYPE monitor_status gauge",
            ]
            for m in mons:
                lines.append(f"monitor_status{{{labels[m.id]}}} {m.beats[-1]['status']}")
        lines += [
            "",
            "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.",
            "# TYPE process_start_time_seconds gauge",
            f"process_start_time_seconds {int(time.time()) - 60}",
            "",
            "# HELP nodejs_version_info Node.js version info.",
            "# TYPE nodejs_version_info gauge",
            'nodejs_version_info{version="v20.20.2",major="20",minor="20",patch="2"} 1',
            "",
            "# HELP app_version The service version by package.json",
            "# TYPE app_version gauge",
            'app_version{version="1.23.16",major="1",minor="23",patch="16"} 1',
            "",
        ]
        return "\n".join(lines) + "\n"

    # ----------------------------------------------------------------- server

    def _json(self, payload: dict[str, Any]) -> bytes:
        if self.huge:
            return _pad_json(payload, self.huge_bytes)
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()

    def _cached(self, kind: str, produce: Callable[[], Response | None]) -> Response:
        """apicache middleware: replay per URL for the TTL unless bypassed."""
        if request.headers.get("x-apicache-bypass") or request.headers.get("x-apicache-force-fetch"):
            resp = produce()
            return resp if resp is not None else self.hang_request()
        qs = request.query_string.decode("latin-1")
        key = request.path + (f"?{qs}" if qs else "")
        now = time.monotonic()
        with self._state:
            entry = self._cache.get(key)
            if entry is not None and entry.expires > now:
                self.cache_hits += 1
                return Response(entry.body, status=200, headers=entry.headers)
            self.cache_misses += 1
        resp = produce()
        if resp is None:  # handler never calls res.end(): nothing to cache
            return self.hang_request()
        ttl = self.cache_ttls[kind]
        resp.headers["Cache-Control"] = f"max-age={ttl:.0f}"
        if resp.status_code == 200:
            headers = {"Content-Type": resp.headers["Content-Type"], "Cache-Control": resp.headers["Cache-Control"]}
            with self._state:
                self._cache[key] = _CacheEntry(resp.get_data(), headers, now + ttl)
        return resp

    def _routes(self) -> None:
        app = self.app

        @app.before_request
        def _faults() -> Response | None:
            self.track_socket()
            if self.hang:
                return self.hang_request()
            return None

        @app.get("/api/status-page/heartbeat/<slug>")
        def heartbeat(slug: str) -> Response:
            if self.malformed:
                return Response(b'{"heartbeatList":{"1":[{"status":1,"time":"2026-', content_type=JSON_TYPE)

            def produce() -> Response:
                return Response(self._json(self.heartbeat_payload(slug)), content_type=JSON_TYPE)

            if self.huge:
                return produce()
            return self._cached("heartbeat", produce)

        @app.get("/api/status-page/<slug>")
        def status_page(slug: str) -> Response:
            if self.malformed:
                return Response(b'{"config":{"slug":"' + self.slug.encode() + b'","title":', content_type=JSON_TYPE)

            def produce() -> Response | None:
                if slug.lower() != self.slug:
                    return None  # 1.23.16: `if (!statusPage) return null;`
                return Response(self._json(self.status_page_payload()), content_type=JSON_TYPE)

            if self.huge:
                return produce() or self.hang_request()
            return self._cached("status-page", produce)

        @app.get("/metrics")
        def metrics() -> Response:
            if not self.disable_auth and not self._metrics_auth_ok():
                return Response(b"", status=401, headers={"WWW-Authenticate": "Basic"})
            text = self.metrics_text()
            if self.huge:
                filler = "# padding " + "x" * 1013 + "\n"
                text += filler * (self.huge_bytes // len(filler) + 1)
            return Response(text, content_type=METRICS_TYPE)

    def _metrics_auth_ok(self) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.lower().startswith("basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        with self._state:
            if self.api_keys:
                if not password.startswith("uk") or "_" not in password:
                    return False
                key_id, _, secret = password[2:].partition("_")
                return key_id.isdigit() and self.api_keys.get(int(key_id)) == secret
            return user == self.username and password == self.password


def _pad_json(payload: dict[str, Any], size: int) -> bytes:
    """``payload`` as valid JSON of about ``size`` bytes, same shape.

    The padding goes into a string the shape already has (the status page
    description, the newest beat's ``msg``), else into a ``padding`` key.
    """
    payload = json.loads(json.dumps(payload))
    filler = "x" * size
    if "config" in payload:
        payload["config"]["description"] = filler
    else:
        beats = [b for lst in payload.get("heartbeatList", {}).values() for b in lst]
        if beats:
            beats[-1]["msg"] = filler
        else:
            payload["padding"] = filler
    return json.dumps(payload, separators=(",", ":")).encode()
