"""gunicorn settings for the web process (production mode).

``medianest run`` starts gunicorn with this file when ``REDIS_URL`` is set;
by hand: ``gunicorn --config python:medianest.gunicorn_conf medianest.wsgi:app``.

Workers: Socket.IO (Engine.IO) keeps a client's long-polling requests and its
WebSocket on the process that opened the session, and gunicorn's arbiter
spreads requests over its workers without stickiness, so each gunicorn runs
exactly ONE worker.  A gevent worker serves up to ``worker_connections``
clients at once (an open Socket.IO connection is one of them).  To serve more,
run more single-worker web containers behind a proxy that pins a client to one
of them (``ip_hash`` in nginx, ``lb_policy ip_hash`` in Caddy); they share
events through the Redis message queue.  ``workers`` is therefore not read
from the environment: a second worker would break Socket.IO, not speed it up.

WebSocket: simple-websocket serves the upgrade under plain ``-k gevent``
(gevent-websocket is deliberately not installed; with it the plain gevent
worker cannot serve WebSocket at all).

Shutdown: on SIGTERM gunicorn stops accepting, lets running requests finish
for up to ``graceful_timeout`` seconds, then closes what is left (open
Socket.IO connections; the browser reconnects).  Keep the container's stop
grace period longer than that (compose: ``stop_grace_period``).

Behind a proxy: ``MEDIANEST_BEHIND_PROXY=true`` makes the app trust one hop
of ``X-Forwarded-For/-Proto/-Host`` from the addresses in
``MEDIANEST_TRUSTED_PROXIES`` only (``medianest/proxies.py``); gunicorn's own
``forwarded_allow_ips`` (it reads the scheme) defaults to the same list, so
the two never disagree.  Without a proxy gunicorn trusts 127.0.0.1 only.
``MEDIANEST_FORWARDED_ALLOW_IPS`` overrides gunicorn's list.
"""

from __future__ import annotations

import gc
import os
import sys
import traceback


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        print(f"medianest: setting {name}: {value!r} is not a whole number", file=sys.stderr, flush=True)
        sys.exit(2)


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _trusted_proxies() -> str:
    """``MEDIANEST_TRUSTED_PROXIES`` (or its ``_FILE``), as the app reads it."""
    # Imported here, not with this file: the arbiter keeps what it imports, and its
    # memory counts with the worker's (the budget of bench/household_budgets.py).
    from medianest.settings import Settings, SettingsError, load_settings

    try:
        return load_settings().trusted_proxies
    except SettingsError:
        # on_starting reports the bad setting in one line; until then, trust the default.
        return Settings.model_fields["trusted_proxies"].default


worker_class = "gevent"
workers = 1
worker_connections = _env_int("MEDIANEST_WORKER_CONNECTIONS", 1000)
bind = os.environ.get("MEDIANEST_BIND", "0.0.0.0:5000")

# A worker that does not report to the arbiter for this long is restarted; a
# gevent worker reports from its hub, so only a blocked hub (a C call that does
# not yield) trips it, never a long download or an open WebSocket.
timeout = _env_int("MEDIANEST_WORKER_TIMEOUT", 60)
graceful_timeout = _env_int("MEDIANEST_GRACEFUL_TIMEOUT", 30)
keepalive = 5
forwarded_allow_ips = os.environ.get("MEDIANEST_FORWARDED_ALLOW_IPS") or (
    _trusted_proxies() if _env_true("MEDIANEST_BEHIND_PROXY") else "127.0.0.1"
)

# gunicorn answers a request line or a header past these limits itself, with
# an HTML page (414, 431) written before MediaNest sees the request; no
# setting changes that page.  The request line is raised to gunicorn's
# maximum (its default is 4094), so every request line up to 8190 bytes
# reaches MediaNest and gets its JSON envelope (a long query string is then
# a VALIDATION_ERROR, an unknown long path a 404).  "0" would lift the limit
# altogether, which gunicorn's own parser reads without bound: not offered.
# Headers keep gunicorn's 8190 bytes per field and 100 fields.
limit_request_line = 8190
limit_request_field_size = 8190
limit_request_fields = 100

# MediaNest logs each request itself (JSON with the correlation id).
accesslog = None
errorlog = "-"
loglevel = os.environ.get("MEDIANEST_LOG_LEVEL", "info").lower()
# The container's file system may be read-only apart from its volumes.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
proc_name = "medianest-web"


def on_starting(server) -> None:
    """Check the settings in the arbiter, before any worker: one line, no traceback.

    ``medianest.wsgi`` builds the app in the worker, where a wrong setting would only
    show as a traceback and gunicorn's "Worker failed to boot".  The check runs in a
    child of the arbiter, which exits when it is done: what the check imports (the
    settings, Flask, the keyring) would otherwise stay in the arbiter, whose memory
    counts with the worker's (the budget of bench/household_budgets.py).
    """
    child = os.fork()
    if child == 0:
        code = 1
        try:
            code = _settings_problem()
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(child, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(2)


def _settings_problem() -> int:
    """0 when the settings make a configuration; else 2, the problem printed in one line."""
    from flask import Flask

    from medianest.configuration import configure_settings
    from medianest.settings import SettingsError, load_settings

    try:
        settings = load_settings()
        configure_settings(Flask("medianest-check"), settings, {})
    except SettingsError as exc:
        print(f"medianest: {exc}", file=sys.stderr, flush=True)
        return 2
    except OSError as exc:
        print(f"medianest: setting MEDIANEST_DATA_DIR: {exc.filename}: {exc.strerror}", file=sys.stderr, flush=True)
        return 2
    return 0


def pre_fork(server, worker) -> None:
    # What the arbiter has built is shared with the worker it forks.  Frozen, those
    # objects are never visited by the worker's garbage collector, whose writes
    # would copy their pages into the worker: they stay shared and count once
    # (gc.freeze's documented use; the memory budget of bench/household_budgets.py).
    gc.freeze()


def post_fork(server, worker) -> None:
    # psycopg2 blocks the whole gevent worker unless it yields to the hub.
    from psycogreen.gevent import patch_psycopg

    patch_psycopg()


def worker_abort(worker) -> None:
    # SIGABRT from the arbiter after ``timeout``: say which worker hung.
    worker.log.error("worker %s did not answer for %ss and is restarted", worker.pid, timeout)
