"""Prometheus metrics at ``/metrics``, behind ``Authorization: Bearer <metrics token>``."""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, current_app, g, has_app_context, request
from flask.wrappers import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from medianest.access import public
from medianest.json_answers import error_response
from medianest.redis_connection import redis_client

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
SOCKET_CONNECTIONS = Gauge("medianest_socketio_connections", "Open Socket.IO connections", registry=REGISTRY)
EVENTS_PUBLISHED = Counter(
    "medianest_events_published_total", "Events published on the bus", ["event"], registry=REGISTRY
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

# ------------------------------------------------------------------ background jobs
# Tasks run in the worker's processes, which serve no /metrics of their own:
# each finished task is counted in a Redis hash ("task<TAB>state" -> count)
# that the web process reads when scraped, with the broker's queue lengths.
# Embedded (no Redis), the worker is a thread of the web process and counts here.
TASK_COUNTS_KEY = "medianest:task-counts"
log = logging.getLogger("medianest.metrics")


class TaskCollector:
    """``medianest_tasks_total{task,state}`` and ``medianest_task_queue_length{queue}``."""

    def __init__(self) -> None:
        self._local: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def count(self, task: str, state: str, redis: Any | None) -> None:
        """One finished task, counted where the web process will find it."""
        if redis is not None:
            try:
                redis.hincrby(TASK_COUNTS_KEY, f"{task}\t{state}", 1)
                return
            except Exception as exc:  # a job's outcome must not depend on its metric
                log.debug("task count not stored in Redis (%s)", exc.__class__.__name__)
        with self._lock:
            self._local[(task, state)] = self._local.get((task, state), 0) + 1

    def reset(self) -> None:
        with self._lock:
            self._local.clear()

    def collect(self) -> Iterator[Any]:
        counts = dict(self._local)
        queues: dict[str, int] = {}
        redis, queue_names = _task_sources()
        if redis is not None:
            try:
                with redis.pipeline(transaction=False) as pipe:
                    pipe.hgetall(TASK_COUNTS_KEY)
                    for name in queue_names:
                        pipe.llen(name)
                    stored, *lengths = pipe.execute()
            except Exception as exc:
                log.warning("task metrics not read from Redis (%s)", exc.__class__.__name__)
            else:
                for field, value in stored.items():
                    task, _, state = field.decode().partition("\t")
                    counts[(task, state)] = counts.get((task, state), 0) + int(value)
                queues = dict(zip(queue_names, (int(n) for n in lengths), strict=True))
        finished = CounterMetricFamily(
            "medianest_tasks", "Background tasks finished, by final state", labels=["task", "state"]
        )
        for (task, state), value in sorted(counts.items()):
            finished.add_metric([task, state], value)
        yield finished
        waiting = GaugeMetricFamily(
            "medianest_task_queue_length", "Tasks waiting in the broker's queue for a worker", labels=["queue"]
        )
        for name, length in sorted(queues.items()):
            waiting.add_metric([name], length)
        yield waiting

    def describe(self) -> list[Any]:
        return []


def _task_sources() -> tuple[Any | None, list[str]]:
    if not has_app_context():
        return None, []

    redis = redis_client(timeout=0.5)
    celery = current_app.extensions.get("celery")
    default = celery.conf.task_default_queue if celery is not None else "celery"
    return redis, [default]


TASKS = TaskCollector()
REGISTRY.register(TASKS)

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
        g.medianest_request_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.get("medianest_request_started")
        route = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
        counted, timed = _request_series(route, request.method, response.status_code)
        counted.inc()
        if started is not None:
            timed.observe(time.perf_counter() - started)
        return response


# (route, method, status) -> the two series a request updates.  Looking a
# series up by its labels takes a lock and a tuple of strings each time; the
# keys are the app's rules, methods and statuses, so this stays small.
_SERIES: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def _request_series(route: str, method: str, status: int) -> tuple[Any, Any]:
    series = _SERIES.get((route, method, status))
    if series is None:
        series = _SERIES[(route, method, status)] = (
            HTTP_REQUESTS.labels(route=route, method=method, status=str(status)),
            HTTP_LATENCY.labels(route=route, method=method),
        )
    return series
