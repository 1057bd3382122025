"""The periodic status job: runs every plugin's health checks and records what they saw.

Pages and ``/api/v1/dashboard/status`` only ever read this record; no page view
waits on an external service.  A status *change* publishes ``service.status``.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import timedelta

from celery import shared_task
from flask import current_app

from medianest.events import publish
from medianest.extensions import db
from medianest.models import ServiceCheck, ServiceStatus, utcnow
from medianest.plugins.types import HealthCheck, HealthResult

log = logging.getLogger("medianest.status")

HISTORY = timedelta(hours=48)


def _run_one(check: HealthCheck) -> HealthResult:
    started = time.perf_counter()
    try:
        result = check.check()
    except Exception as exc:
        return HealthResult("offline", (time.perf_counter() - started) * 1000, f"{exc.__class__.__name__}: {exc}")
    if result.response_ms is None:
        result.response_ms = round((time.perf_counter() - started) * 1000, 1)
    return result


def run_checks() -> dict[str, HealthResult]:
    """Run every enabled plugin's checks in parallel, each under its own timeout."""
    host = current_app.extensions["medianest.plugins"]
    checks = [(plugin, check) for plugin, check in host.collect("health_checks")]
    results: dict[str, tuple[str, HealthCheck, HealthResult]] = {}
    if not checks:
        return {}
    app = current_app._get_current_object()

    def in_context(check: HealthCheck) -> HealthResult:
        with app.app_context():
            return _run_one(check)

    pool = ThreadPoolExecutor(max_workers=min(16, len(checks)), thread_name_prefix="health")
    try:
        futures = [(plugin, check, pool.submit(in_context, check)) for plugin, check in checks]
        started = time.monotonic()
        for plugin, check, future in futures:
            remaining = max(0.0, started + check.timeout - time.monotonic())
            try:
                result = future.result(timeout=remaining)
            except FutureTimeout:
                result = HealthResult("offline", check.timeout * 1000, f"timed out after {check.timeout:g} s")
            results[check.name] = (plugin, check, result)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    record(results)
    return {name: r for name, (_, _, r) in results.items()}


def record(results: dict[str, tuple[str, HealthCheck, HealthResult]]) -> None:
    now = utcnow()
    changes = []
    for name, (plugin, check, result) in results.items():
        row = db.session.get(ServiceStatus, name)
        if row is None:
            row = ServiceStatus(service=name)
            db.session.add(row)
        previous = row.status if row.checked_at else None
        row.plugin = plugin
        row.display_name = check.display_name or name
        row.critical = check.critical
        row.status = result.status
        row.response_ms = result.response_ms
        row.error = result.error
        row.details = result.details or None
        row.checked_at = now
        if previous != result.status:
            row.changed_at = now
            changes.append(row)
        db.session.add(ServiceCheck(service=name, status=result.status, response_ms=result.response_ms, error=result.error, checked_at=now))
    db.session.commit()
    for row in changes:
        publish(
            "service.status",
            {
                "user_id": None,
                "service": row.service,
                "status": row.status,
                "response_ms": row.response_ms,
                "checked_at": row.checked_at.isoformat() + "Z",
                "error": row.error,
            },
        )


def prune_history(keep: timedelta = HISTORY) -> int:
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
