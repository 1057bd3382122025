"""Liveness (``/healthz``, no I/O) and readiness (``/api/v1/health``)."""

from __future__ import annotations

import hmac
import time

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user
from sqlalchemy import text

from medianest.access import public
from medianest.api import api_route
from medianest.extensions import db
from medianest.http import breaker_states
from medianest.models import ServiceStatus
from medianest.redis_connection import redis_client

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
def healthz():
    """Liveness: the process answers. No I/O."""
    return jsonify({"status": "ok"})


def _timed(fn) -> dict:
    started = time.perf_counter()
    try:
        fn()
    except Exception as exc:
        return {"status": "down", "error": f"{exc.__class__.__name__}: {exc}", "response_ms": None}
    return {"status": "up", "response_ms": round((time.perf_counter() - started) * 1000, 2)}


def readiness() -> tuple[dict, bool]:
    settings = current_app.config["MEDIANEST"]
    checks: dict[str, dict] = {"database": _timed(lambda: db.session.execute(text("SELECT 1")))}
    if checks["database"]["status"] != "up":
        db.session.rollback()
    healthy = checks["database"]["status"] == "up"
    if settings.redis_url:

        def ping() -> None:
            redis_client(1.0).ping()

        checks["redis"] = _timed(ping)
        healthy = healthy and checks["redis"]["status"] == "up"
    limiter_state = current_app.extensions.get("medianest.limiter_state")
    if limiter_state is not None:
        checks["rate_limits"] = limiter_state()

    host = current_app.extensions["medianest.plugins"]
    plugins = {info.name: info.to_public() for info in host.plugins.values() if info.name != "core"}
    services = {}
    if checks["database"]["status"] == "up":
        for row in db.session.scalars(db.select(ServiceStatus).order_by(ServiceStatus.service)):
            services[row.service] = row.to_public()
            if row.critical and row.status == "offline":
                healthy = False
    body = {
        "status": "healthy" if healthy else "unhealthy",
        "checks": checks,
        "plugins": plugins,
        "failed_plugins": [p.name for p in host.failed()],
        "services": services,
        "breakers": _breakers(services),
    }
    return body, healthy


def _breakers(services: dict) -> dict:
    """Circuit breakers: this process's own, and what the status job recorded for the rest."""

    breakers = {
        name: {"state": item["breaker"]["state"], "failures": item["breaker"]["failures"], "seen_by": "status job"}
        for name, item in services.items()
        if item.get("breaker")
    }
    for name, state in breaker_states().items():
        breakers[name] = {**state, "seen_by": "this process"}
    return breakers


def full_view_allowed() -> bool:
    """Errors, plugin versions and hooks, breakers: for a signed-in admin or the metrics token's holder."""
    token = current_app.config["MEDIANEST"].metrics_token
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    return bool(current_user.is_authenticated and current_user.is_admin)


def outline(body: dict) -> dict:
    """What anyone may read: each check's and service's status, and which plugins failed."""
    return {
        "status": body["status"],
        "checks": {name: {"status": check["status"]} for name, check in body["checks"].items()},
        "failed_plugins": body["failed_plugins"],
        "services": {name: {"status": service["status"]} for name, service in body["services"].items()},
    }


@bp.get("/api/v1/health")
@api_route(summary="Readiness: database, Redis, plugins and services", tags=["health"], errors=(503,))
@public
def health():
    """Readiness: 200 when healthy, 503 when a critical check fails.

    Anyone gets each check's and service's status; a signed-in admin or the
    metrics token (``Authorization: Bearer ...``) also gets errors, response
    times, plugins with their versions and hooks, and circuit breakers.
    """
    body, healthy = readiness()
    if not full_view_allowed():
        body = outline(body)
    response = jsonify(
        {"success": healthy, "data": body, "meta": {}}
        if healthy
        else {
            "success": False,
            "data": body,
            "error": {"code": "SERVICE_UNAVAILABLE", "message": "A critical check failed.", "details": {}},
        }
    )
    response.status_code = 200 if healthy else 503
    return response
