"""Celery, bound to the Flask app: every task runs inside the app context.

Production: Redis is the broker.  Embedded: kombu's filesystem transport in
the instance folder, consumed by a worker thread inside the web process, so a
task queued before a restart still runs after it.  Beat entries come from the
plugins' ``periodic_tasks``.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from celery import Celery, Task
from celery.beat import EmbeddedService
from celery.signals import beat_init, task_postrun, worker_process_init
from flask import Flask

from medianest.extensions import db
from medianest.metrics import TASKS
from medianest.redis_connection import redis_client

log = logging.getLogger("medianest.worker")

# Redis redelivers an unacknowledged task after this long; it must outlast the
# longest job (a big playlist), and be the same wherever the broker is set up.
VISIBILITY_TIMEOUT = 12 * 3600


def broker_config(settings: Any) -> dict[str, Any]:
    if settings.redis_url:
        return {
            "broker_url": settings.redis_url,
            "broker_transport_options": {"visibility_timeout": VISIBILITY_TIMEOUT, "max_connections": 64},
            "result_backend": settings.redis_url,
            "result_backend_transport_options": {"visibility_timeout": VISIBILITY_TIMEOUT},
            "redbeat_redis_url": settings.redis_url,
        }
    queue = Path(settings.data_dir).resolve() / "queue"
    for sub in ("in", "processed", "control"):
        (queue / sub).mkdir(parents=True, exist_ok=True)
    return {
        "broker_url": "filesystem://",
        "broker_transport_options": {
            "data_folder_in": str(queue / "in"),
            "data_folder_out": str(queue / "in"),
            "processed_folder": str(queue / "processed"),
            "control_folder": str(queue / "control"),
            "store_processed": False,
        },
        "result_backend": None,
    }


def celery_init_app(app: Flask) -> Celery:
    settings = app.config["MEDIANEST"]

    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                owner = app.extensions.get("medianest.periodic_owners", {}).get(self.name)
                if owner and not app.extensions["medianest.plugins"].is_active(owner):
                    log.info("task %s skipped: plugin %s is not active", self.name, owner)
                    return None
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.conf.update(
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        beat_schedule_filename=str(Path(settings.data_dir).resolve() / "celerybeat-schedule"),
        **broker_config(settings),
    )
    celery_app.conf.update(app.config.get("CELERY", {}))
    celery_app.set_default()

    _worker_app[0] = app

    app.extensions["celery"] = celery_app
    return celery_app


def build_beat_schedule(app: Flask) -> dict[str, dict[str, Any]]:
    """Every installed plugin's entries; a task whose plugin is not active when it runs does nothing."""
    host = app.extensions["medianest.plugins"]
    schedule: dict[str, dict[str, Any]] = {}
    owners: dict[str, str] = {}
    task_owners: dict[str, str] = {}
    for plugin_name, entry in host.in_load_order(host.collect_installed("periodic_tasks")):
        name, seconds, task = entry
        if name in owners:
            host.fail(plugin_name, f"periodic task {name!r} is already used by plugin {owners[name]!r}")
            continue
        owners[name] = plugin_name
        task_owners[task.name] = plugin_name
        schedule[name] = {"task": task.name, "schedule": float(seconds)}
    app.extensions["medianest.periodic_owners"] = task_owners
    return schedule


_worker_app: list[Flask | None] = [None]  # the app a worker process serves


@worker_process_init.connect
def _fresh_connections_after_fork(**_: Any) -> None:
    """A prefork child inherits the parent's pooled database connections; two
    processes on one PostgreSQL connection corrupt it ("error with status
    PGRES_TUPLES_OK and no message from the libpq").  The child drops them
    without closing them (the parent still uses its own)."""
    app = _worker_app[0]
    if app is None:
        return

    with app.app_context():
        db.engine.dispose(close=False)


@beat_init.connect
def _check_services_at_start(sender: Any = None, **_: Any) -> None:
    """An interval entry first runs one interval after beat starts: the dashboard would say
    "unknown" for that long.  Beat (embedded or its own process) queues one run at once."""
    try:
        sender.app.send_task("medianest.run_health_checks")
    except Exception:  # the broker is away: the schedule's own run comes later
        log.warning("could not queue the first health checks", exc_info=True)


@task_postrun.connect
def _count_task(sender: Task | None = None, state: str | None = None, **_: Any) -> None:
    """Counted for the web process's /metrics (``medianest.metrics.TaskCollector``)."""

    app = _worker_app[0]
    redis = None
    if app is not None:
        with app.app_context():
            redis = redis_client(timeout=0.5)
    TASKS.count(getattr(sender, "name", "?"), state or "UNKNOWN", redis)


class EmbeddedWorker:
    """A Celery worker and beat inside this process (embedded mode)."""

    def __init__(self, app: Flask, concurrency: int = 2) -> None:
        self.app = app
        self.celery = app.extensions["celery"]
        self.concurrency = concurrency
        self.worker = None
        self.worker_thread: threading.Thread | None = None
        self.beat = None

    def start(self) -> None:

        self.worker = self.celery.WorkController(
            concurrency=self.concurrency,
            pool="threads",
            hostname=f"embedded@{threading.get_native_id()}",
            without_heartbeat=True,
            without_mingle=True,
            without_gossip=True,
            loglevel="INFO",
        )
        self.worker_thread = threading.Thread(target=self.worker.start, name="medianest-worker", daemon=True)
        self.worker_thread.start()
        self.beat = EmbeddedService(self.celery, thread=True)
        self.beat.start()
        log.info("embedded worker started", extra={"concurrency": self.concurrency})

    def stop(self, timeout: float = 5.0) -> None:
        """Stop beat and the worker without waiting for running tasks.

        A warm shutdown would wait for a download to finish; one cut short is
        resumed at the next start (the queue and the download's row outlive
        the process).  The worker's consumer is given ``timeout`` seconds to
        stop: a task it takes meanwhile must not start after the interpreter
        began to exit, when no new thread may be started.
        """
        if self.beat is not None:
            self.beat.stop()
        if self.worker is not None:
            self.worker.terminate(in_sighandler=False)
        if self.worker_thread is not None:
            self.worker_thread.join(timeout)
