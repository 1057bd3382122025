"""Prometheus metrics at ``/metrics``, behind ``Authorization: Bearer <metrics token>``."""

from __future__ import annotations

import hmac
import time

from flask import Blueprint, Flask, current_app, g, request
from flask.wrappers import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from medianest.access import public
from medianest.api.envelope import error_response

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "medianest_http_requests_total", "HTTP requests answered", ["route", "method", "status"], registry=REGISTRY
)
HTTP_LATENCY = Histogram(
    "medianest_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
TASKS = Counter("medianest_tasks_total", "Celery tasks finished", ["task", "state"], registry=REGISTRY)
SOCKET_CONNECTIONS = Gauge("medianest_socketio_connections", "Open Socket.IO connections", registry=REGISTRY)
EVENTS_PUBLISHED = Counter(
    "medianest_events_published_total", "Events published on the bus", ["event"], registry=REGISTRY
)
IDENTITY_CACHE = Counter(
    "medianest_identity_cache_total",
    "API token look-ups answered by the per-process identity cache (hit), the database (miss), "
    "or the database because the cache is off while Redis is unreachable (bypass)",
    ["result"],
    registry=REGISTRY,
)
SERVICE_CALLS = Counter(
    "medianest_service_calls_total", "Outbound calls to external services", ["service", "outcome"], registry=REGISTRY
)
BREAKER_STATE = Gauge(
    "medianest_service_breaker_open", "1 while a service's circuit breaker is open", ["service"], registry=REGISTRY
)
BREAKER_STATES = Gauge(
    "medianest_service_breaker_state",
    "A service's circuit breaker state (1 for the current one of closed/open/half-open)",
    ["service", "state"],
    registry=REGISTRY,
)
BREAKER_FAILURES = Gauge(
    "medianest_service_breaker_failures",
    "Consecutive failed calls counted by a service's breaker",
    ["service"],
    registry=REGISTRY,
)
SERVICE_CALL_SECONDS = Histogram(
    "medianest_service_call_duration_seconds",
    "Time an outbound call to an external service took (failures included)",
    ["service"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
@public
def metrics() -> Response:
    """Prometheus exposition; needs the metrics token as a Bearer token."""
    token = current_app.config["MEDIANEST"].metrics_token
    given = request.headers.get("Authorization", "")
    if not token:
        return error_response("NOT_CONFIGURED", "Set MEDIANEST_METRICS_TOKEN to enable /metrics.", 404)
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return error_response("AUTH_REQUIRED", "Send the metrics token as 'Authorization: Bearer ...'.", 401)
    return Response(generate_latest(REGISTRY), mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    @app.before_request
    def _start_timer() -> None:
        g._metrics_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = getattr(g, "_metrics_started", None)
        route = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
        HTTP_REQUESTS.labels(route=route, method=request.method, status=str(response.status_code)).inc()
        if started is not None:
            HTTP_LATENCY.labels(route=route, method=request.method).observe(time.perf_counter() - started)
        return response
