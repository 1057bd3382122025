"""The periodic status job: runs every plugin's health checks and records what they saw.

Pages and ``/api/v1/dashboard/status`` only ever read this record; no page view
waits on an external service.  A status *change* publishes ``service.status``.

The checks of one run go in parallel, each under its own timeout; a result is
recorded (and published) as soon as it is in, so a service that hangs delays
nobody else's status.  Runs never overlap: while one is still going (a slow
service, a short interval) the next one is skipped.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Literal

from celery import shared_task
from flask import current_app, has_app_context
from prometheus_client.core import GaugeMetricFamily
from pydantic import Field
from redis.exceptions import LockError, RedisError
from sqlalchemy import case, func
from sqlalchemy.exc import SQLAlchemyError

from medianest.contributions import HealthCheck, HealthResult
from medianest.events import Event, EventPayload, publish
from medianest.extensions import db
from medianest.http import ServiceError, breaker_states
from medianest.metrics import REGISTRY
from medianest.models import ServiceCheck, ServiceStatus, utcnow
from medianest.redis_connection import redis_client
from medianest.service_cache import last_good, remember

log = logging.getLogger("medianest.status")

HISTORY = timedelta(hours=48)
UPTIME_WINDOW = timedelta(hours=24)
SPARKLINE_POINTS = 40
STATUSES = ("online", "degraded", "offline", "unconfigured")


class ServiceStatusPayload(EventPayload):
    service: str = Field(description="the checked service's settings key, or `<service>:<monitor id>` for one monitor")
    status: Literal["online", "degraded", "offline", "unconfigured"] = Field(description="what the check saw")
    response_ms: float | None = Field(description="how long the service took to answer, in milliseconds")
    checked_at: str | None = Field(description="when it was checked (ISO 8601, UTC)")
    error: str | None = Field(description="why it is not online, in the service's words")
    name: str | None = Field(default=None, description="a monitor's display name (monitors only)")
    source: str | None = Field(default=None, description="the service a monitor belongs to (monitors only)")
    monitor_status: str | None = Field(default=None, description="the monitor's own state (monitors only)")


SERVICE_STATUS = Event(
    "service.status",
    ServiceStatusPayload,
    audience="everyone",
    description="A service's (or a status-page monitor's) status changed; `user_id` is always null.",
)
RUN_LOCK_KEY = "medianest:health-checks:running"
SUMMARY_CACHE = "medianest.status"  # service_cache "service" under which the history summaries are kept

_run_lock = threading.Lock()  # embedded mode: one run at a time in this process


def run_one(check: HealthCheck) -> HealthResult:
    """Run one check now and return what it saw (an exception becomes ``offline`` with its message)."""
    started = time.perf_counter()
    try:
        result = check.check()
    except ServiceError as exc:  # the HTTP layer's message already says what went wrong
        return HealthResult(
            "offline", round((time.perf_counter() - started) * 1000, 1), exc.message, {"code": exc.code}
        )
    except Exception as exc:
        log.warning("health check %s raised", check.name, exc_info=True)
        return HealthResult(
            "offline", round((time.perf_counter() - started) * 1000, 1), f"{exc.__class__.__name__}: {exc}"
        )
    if not isinstance(result, HealthResult):
        return HealthResult("offline", None, f"the check returned {type(result).__name__}, not a HealthResult")
    if result.status not in STATUSES:
        return HealthResult("offline", result.response_ms, f"the check reported an unknown status {result.status!r}")
    if result.response_ms is None and result.status != "unconfigured":
        result.response_ms = round((time.perf_counter() - started) * 1000, 1)
    return result


@contextmanager
def one_run_at_a_time(ttl: float):
    """Yields whether this run may go: redis-py's lock in production (workers may be many), a lock embedded."""
    client = redis_client(2)
    if client is None:
        held = _run_lock.acquire(blocking=False)
        try:
            yield held
        finally:
            if held:
                _run_lock.release()
        return
    lock = client.lock(RUN_LOCK_KEY, timeout=ttl)
    try:
        held = lock.acquire(blocking=False)
    except RedisError:
        log.warning("could not take the health-check lock in Redis; running anyway", exc_info=True)
        lock = None
        held = True
    try:
        yield held
    finally:
        if lock is not None and held:
            try:
                lock.release()
            except (LockError, RedisError):
                log.warning("could not release the health-check lock", exc_info=True)


def run_checks() -> dict[str, HealthResult]:
    """Run every enabled plugin's checks in parallel, each under its own timeout.

    Returns what each check saw (empty when another run is still going).
    """
    host = current_app.extensions["medianest.plugins"]
    checks = [(plugin, check) for plugin, check in host.collect("health_checks") if isinstance(check, HealthCheck)]
    if not checks:
        return {}
    longest = max(check.timeout for _, check in checks)
    with one_run_at_a_time(ttl=longest + 30) as held:
        if not held:
            log.info("health checks skipped: the previous run is still going")
            return {}
        return _run(checks)


def _run(checks: list[tuple[str, HealthCheck]]) -> dict[str, HealthResult]:
    app = current_app._get_current_object()

    def in_context(check: HealthCheck) -> HealthResult:
        with app.app_context():
            return run_one(check)

    results: dict[str, HealthResult] = {}
    pool = ThreadPoolExecutor(max_workers=min(16, len(checks)), thread_name_prefix="health")
    try:
        started = time.monotonic()
        pending: dict[Future, tuple[str, HealthCheck, float]] = {
            pool.submit(in_context, check): (plugin, check, started + check.timeout) for plugin, check in checks
        }
        while pending:
            now = time.monotonic()
            for future in [f for f, (_, _, deadline) in pending.items() if deadline <= now and not f.done()]:
                plugin, check, _ = pending.pop(future)
                timed_out = HealthResult(
                    "offline",
                    check.timeout * 1000,
                    f"no answer within {check.timeout:g} s (timed out)",
                    {"code": "SERVICE_TIMEOUT"},
                )
                results[check.name] = _record_safely(plugin, check, timed_out)
            if not pending:
                break
            next_deadline = min(deadline for _, _, deadline in pending.values())
            done, _ = wait(
                list(pending), timeout=max(0.0, next_deadline - time.monotonic()), return_when=FIRST_COMPLETED
            )
            for future in done:
                plugin, check, _ = pending.pop(future)
                results[check.name] = _record_safely(plugin, check, future.result())
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return results


def _record_safely(plugin: str, check: HealthCheck, result: HealthResult) -> HealthResult:
    try:
        record_one(plugin, check, result)
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("could not record the status of %s", check.name)
    return result


def record_one(
    plugin: str, check: HealthCheck, result: HealthResult, now: datetime | None = None, announce: bool = False
) -> bool:
    """Store one check's result and its history row; publish ``service.status`` if the status changed
    (or, with ``announce``, in any case: after a settings change the message may be all that changed)."""
    now = now or utcnow()
    row = db.session.get(ServiceStatus, check.name)
    if row is None:
        row = ServiceStatus(service=check.name)
        db.session.add(row)
    previous = row.status if row.checked_at else None
    row.plugin = plugin
    row.display_name = check.display_name or check.name
    row.critical = check.critical
    row.status = result.status
    row.response_ms = result.response_ms
    row.error = result.error
    row.details = result.details or None
    row.checked_at = now
    breaker = breaker_states().get(check.name)
    row.breaker_state = breaker["state"] if breaker else None
    row.breaker_failures = breaker["failures"] if breaker else None
    changed = previous != result.status
    if changed:
        row.changed_at = now
    db.session.add(
        ServiceCheck(
            service=check.name, status=result.status, response_ms=result.response_ms, error=result.error, checked_at=now
        )
    )
    db.session.commit()
    history_summary(row, store=True)  # ready for the next page view
    if changed or announce:
        publish("service.status", status_event(row))
    return changed


def record(results: dict[str, tuple[str, HealthCheck, HealthResult]]) -> None:
    """Store several results at once (same time stamp)."""
    now = utcnow()
    for _name, (plugin, check, result) in results.items():
        record_one(plugin, check, result, now)


def status_event(row: ServiceStatus) -> dict[str, Any]:
    return {
        "user_id": None,
        "service": row.service,
        "status": row.status,
        "response_ms": row.response_ms,
        "checked_at": row.checked_at.isoformat() + "Z" if row.checked_at else None,
        "error": row.error,
    }


# ---------------------------------------------------------------- reading the record
def stale_after() -> timedelta:
    """A status older than this means the checks stopped running (no worker, no beat)."""
    interval = current_app.config["MEDIANEST"].health_check_interval
    return timedelta(seconds=max(3 * interval, 90))


def service_overview() -> list[dict[str, Any]]:
    """Every enabled service's last status, 24 h uptime and recent response times (database only)."""
    host = current_app.extensions["medianest.plugins"]
    rows = [
        row
        for row in db.session.scalars(
            db.select(ServiceStatus).order_by(ServiceStatus.display_name, ServiceStatus.service)
        )
        if row.plugin is None or host.is_active(row.plugin)
    ]
    if not rows:
        return []
    now = utcnow()
    limit = stale_after()
    overview = []
    for row in rows:
        item = row.to_public()
        summary = history_summary(row)
        item["uptime_24h"] = summary["uptime_24h"]
        item["recent"] = summary["recent"]
        item["age_seconds"] = round((now - row.checked_at).total_seconds(), 1) if row.checked_at else None
        item["stale"] = row.checked_at is None or now - row.checked_at > limit
        overview.append(item)
    return overview


def history_summary(row: ServiceStatus, store: bool = False) -> dict[str, Any]:
    """24 h uptime and the last response times of one service.

    Computed once per recorded check (by the status job, right after it
    records) and kept with :mod:`medianest.service_cache`, so a page view reads
    one value instead of walking a day of history.
    """
    stamp = row.checked_at.isoformat() if row.checked_at else "never"
    cached = last_good(SUMMARY_CACHE, row.service)
    if cached is not None and isinstance(cached.value, dict) and cached.value.get("for") == stamp:
        return cached.value
    since = utcnow() - UPTIME_WINDOW
    up = case((ServiceCheck.status.in_(("online", "degraded")), 1), else_=0)
    total, good = db.session.execute(
        db.select(func.count(), func.sum(up)).where(
            ServiceCheck.service == row.service, ServiceCheck.checked_at >= since, ServiceCheck.status != "unconfigured"
        )
    ).one()
    points = db.session.execute(
        db.select(ServiceCheck.status, ServiceCheck.response_ms, ServiceCheck.checked_at)
        .where(ServiceCheck.service == row.service, ServiceCheck.checked_at >= since)
        .order_by(ServiceCheck.checked_at.desc())
        .limit(SPARKLINE_POINTS)
    ).all()
    summary = {
        "for": stamp,
        "uptime_24h": round(100.0 * (good or 0) / total, 2) if total else None,
        "recent": [
            {"status": status, "response_ms": response_ms, "checked_at": checked_at.isoformat() + "Z"}
            for status, response_ms, checked_at in reversed(points)
        ],
    }
    if store:  # only the status job writes; a page view that finds no fresh summary computes one for itself
        remember(SUMMARY_CACHE, row.service, summary)
    return summary


def recorded_breakers() -> dict[str, dict[str, Any]]:
    """Breaker states as the process running the checks last recorded them."""
    return {
        row.service: {"state": row.breaker_state, "failures": row.breaker_failures}
        for row in db.session.scalars(db.select(ServiceStatus).where(ServiceStatus.breaker_state.is_not(None)))
    }


# ---------------------------------------------------------------- history
def prune_history(keep: timedelta | None = None) -> int:
    """Delete check history older than ``keep`` (the ``status_history_hours`` setting, at least 24 h)."""
    if keep is None:
        keep = timedelta(hours=current_app.config["MEDIANEST"].status_history_hours)
    keep = max(keep, UPTIME_WINDOW)
    cutoff = utcnow() - keep
    deleted = db.session.execute(db.delete(ServiceCheck).where(ServiceCheck.checked_at < cutoff)).rowcount
    db.session.commit()
    return deleted or 0


@shared_task(name="medianest.run_health_checks", ignore_result=True)
def run_health_checks() -> None:
    run_checks()


@shared_task(name="medianest.prune_status_history", ignore_result=True)
def prune_status_history() -> None:
    prune_history()


# ---------------------------------------------------------------- metrics
class _RecordedStatusCollector:
    """``/metrics`` gauges from the status record, so the web process reports what the workers checked."""

    def collect(self):
        if not has_app_context():
            return
        status = GaugeMetricFamily(
            "medianest_service_status", "1 for a service's last recorded status", labels=["service", "status"]
        )
        response = GaugeMetricFamily(
            "medianest_service_response_ms", "A service's last recorded health-check response time", labels=["service"]
        )
        breaker = GaugeMetricFamily(
            "medianest_service_recorded_breaker_open",
            "1 while the status job saw the service's circuit breaker open",
            labels=["service"],
        )
        try:
            rows = list(db.session.scalars(db.select(ServiceStatus)))
        except SQLAlchemyError:
            db.session.rollback()
            return
        for row in rows:
            for name in STATUSES:
                status.add_metric([row.service, name], 1 if row.status == name else 0)
            if row.response_ms is not None:
                response.add_metric([row.service], row.response_ms)
            if row.breaker_state:
                breaker.add_metric([row.service], 1 if row.breaker_state == "open" else 0)
        yield status
        yield response
        yield breaker

    def describe(self):
        return []


REGISTRY.register(_RecordedStatusCollector())
