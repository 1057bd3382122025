"""Celery tasks of the youtube plugin, and the worker-start recovery.

Tasks take ids, never rows.  ``youtube.download`` is acknowledged late and
re-queued when its worker dies (the Celery app sets both); whatever the broker
does, the row's ``task_id`` decides whether a delivered message still runs.
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_init, worker_ready
from flask import Flask

log = logging.getLogger("medianest.youtube")

# The app whose context the worker signals run in (set by the plugin's ``startup``).
_app: Flask | None = None


def bind_app(app: Flask) -> None:
    global _app
    _app = app


@shared_task(name="youtube.download", ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def download(download_id: int, task_id: str) -> None:
    """Download one queued video or playlist (``task_id`` must still be the row's)."""
    from medianest_youtube.job import DownloadJob

    DownloadJob(download_id, task_id).run()


@shared_task(name="youtube.dispatch", ignore_result=True)
def dispatch_queued() -> None:
    """Periodic: re-queue running downloads whose job went silent, then fill free slots."""
    from medianest_youtube import downloads

    downloads.recover_stale()
    downloads.dispatch()


def _embedded(sender) -> bool:
    app = getattr(sender, "app", None)
    return str(getattr(getattr(app, "conf", None), "broker_url", "") or "").startswith("filesystem")


@worker_init.connect
def _recover_embedded(sender=None, **_: object) -> None:
    """Embedded mode: this process is the only worker, so no download can be running yet."""
    if _app is None or not _embedded(sender):
        return
    from medianest_youtube import downloads

    with _app.app_context():
        try:
            ids = downloads.recover_orphans(None)
        except Exception:
            log.exception("could not recover interrupted downloads")
            return
        if ids:
            log.warning("resuming downloads interrupted by a restart: %s", ids)


@worker_ready.connect
def _recover_after_worker_loss(sender=None, **_: object) -> None:
    """A worker started: downloads marked running that no live worker holds go back to the queue."""
    if _app is None:
        return
    from medianest_youtube import downloads

    with _app.app_context():
        try:
            live = live_task_ids(_app.extensions["celery"], exclude=getattr(sender, "hostname", None))
            ids = downloads.recover_orphans(live)
        except Exception:
            log.exception("could not recover interrupted downloads")
            return
        if ids:
            log.warning("re-queued downloads whose worker went away: %s", ids)


def live_task_ids(celery, exclude: str | None = None, timeout: float = 1.0) -> set[str]:
    """Ids of the tasks other live workers are running or hold reserved."""
    inspector = celery.control.inspect(timeout=timeout)
    live: set[str] = set()
    for method in (inspector.active, inspector.reserved):
        for hostname, tasks in (method() or {}).items():
            if hostname == exclude:
                continue
            live.update(t.get("id") for t in tasks or [] if t.get("id"))
    return live
