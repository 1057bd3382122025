"""The embedded server: ``medianest run`` with nothing configured.

One process serves everything: gevent's WSGI server (``gevent.pywsgi``,
which Flask-SocketIO's ``socketio.run()`` starts in its gevent mode) answers
HTTP and the Socket.IO WebSocket (simple-websocket), and Celery's worker and
beat run as threads beside it (``EmbeddedWorker``; green threads, since
``medianest.cli.main`` patches the standard library with gevent before the app
is built).

Every accepted connection gets ``TCP_NODELAY``.  gevent's server sends a
response's headers and its body in two writes; with Nagle's algorithm on, the
body of every response after the first on a kept-alive connection (the way
browsers and htmx send their requests) waited for the client's delayed ACK of
the headers, about 40 ms on Linux.  gunicorn sets the same option on its
sockets, so production never had the stall.

After each background task the C heap is trimmed (glibc's ``malloc_trim``):
a download leaves megabytes of freed memory inside the process's heap that
glibc keeps for later; given back, the one process stays within its memory
budget (bench/household_budgets.py).  In production the worker's children
hold that memory, not the web process.

Ctrl-C (SIGINT) and SIGTERM stop the server: it stops accepting, gives open
requests a second to finish, and stops beat and the worker.  A task still
running (a download) is not waited for: the process ends at once, and the
worker re-queues the download when it next starts (``medianest_youtube``'s
``worker_init`` handler), as after a crash.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import socket
from typing import Any

import gevent
from celery.signals import task_postrun
from celery.worker import state as worker_state
from flask import Flask
from gevent import pywsgi

from medianest.celery_app import EmbeddedWorker
from medianest.extensions import socketio

log = logging.getLogger("medianest.embedded")


class NoDelayHandler(pywsgi.WSGIHandler):
    """gevent's request handler, with Nagle's algorithm off on its connection."""

    def __init__(self, sock: Any, address: Any, server: Any, rfile: Any = None) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().__init__(sock, address, server, rfile)


def _c_library_trim() -> Any:
    """glibc's ``malloc_trim``, or ``None`` on a C library without it (musl, macOS)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    return getattr(ctypes.CDLL(name), "malloc_trim", None)


_malloc_trim = _c_library_trim()


def give_back_freed_memory(**_: Any) -> None:
    """Return the C heap's free pages to the system."""
    if _malloc_trim is not None:
        _malloc_trim(0)


def serve(app: Flask, host: str, port: int) -> None:
    """Serve ``app`` on ``host:port``, with its worker and beat, until SIGINT or SIGTERM."""
    if socketio.async_mode != "gevent":
        raise RuntimeError("the embedded server needs gevent's monkey-patching before the app is built")
    settings = app.config["MEDIANEST"]
    worker = EmbeddedWorker(app, settings.worker_concurrency) if settings.embedded_worker else None
    if worker is not None:
        task_postrun.connect(give_back_freed_memory, weak=False)
        worker.start()

    def stop() -> None:
        log.info("stopping the embedded server")
        socketio.stop()  # gevent's server: stop accepting, give open requests a second, close the rest

    # gevent runs these in the hub's loop, not inside whatever code the signal interrupted.
    handlers = [gevent.signal_handler(signum, stop) for signum in (signal.SIGINT, signal.SIGTERM)]
    try:
        socketio.run(app, host=host, port=port, use_reloader=False, log_output=False, handler_class=NoDelayHandler)
    finally:
        for handler in handlers:
            handler.cancel()
        if worker is not None:
            worker.stop()
            running = len(worker_state.active_requests)
            if running:
                # The pool's threads are not daemons: the interpreter would wait
                # at exit for a download to finish, minutes after Ctrl-C.
                log.warning("stopped with %d task(s) running; they run again at the next start", running)
                logging.shutdown()
                os._exit(0)
