"""How MediaNest talks to its database: engine options, dead-connection checks, read-only API calls.

Every API call used to cost four PostgreSQL round trips before its own query
returned: the pool's ``SELECT 1`` ping on checkout, the ``BEGIN`` psycopg2
sends before the first statement, the query, and the ``ROLLBACK`` when the
session closes (``docs/benchmarks.md``).  Two changes leave one:

- **Checking a pooled connection without a round trip.**  When PostgreSQL
  stops or restarts, it tells every idle client ("terminating connection due
  to administrator command") and closes the socket; either way the socket of
  an idle connection becomes readable, which a zero-timeout ``select`` sees.
  A readable idle connection is treated as dead, and so are all the pool's
  older connections (``InvalidatePoolError``): the pool opens fresh ones, as
  ``pool_pre_ping`` did.  A server that vanishes without a word (a cable
  pulled) is not caught here; the pre-ping's ``SELECT 1`` would have waited
  for the TCP timeout there too.
- **Read-only API calls run in autocommit.**  A connection checked out for a
  ``GET``/``HEAD`` under ``/api/`` is in autocommit mode: no ``BEGIN``, no
  ``ROLLBACK``.  The few writes such a call makes (a token's ``last_used_at``)
  are single statements, committed as they run.  Pages and every other method
  keep a transaction per request.
"""

from __future__ import annotations

import select
from typing import Any

import orjson
from flask import Flask, has_request_context, request


def engine_options(url: str) -> dict[str, Any]:
    # JSON columns (a download's files) are decoded by orjson: the standard
    # library's decoder was a twentieth of a list call.
    json_options = {"json_deserializer": orjson.loads}
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30, "check_same_thread": False}, **json_options}
    # A gevent worker serves many requests at once, each holding a connection
    # from its first query to its end: connections past ``pool_size`` are
    # opened and closed per request (a PostgreSQL backend started each time),
    # so the pool keeps 20 and allows 10 more for bursts.  Dead connections are
    # found on checkout by ``_closed_by_server`` instead of ``pool_pre_ping``.
    return {"pool_size": 20, "max_overflow": 10, "pool_recycle": 1800, **json_options}


def _closed_by_server(dbapi_connection: Any) -> bool:
    """An idle connection whose socket has something to read was told goodbye (or closed) by the server."""
    if dbapi_connection.closed:
        return True
    try:
        readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def init_app(app: Flask) -> None:
    """Install the checkout check and the read-only mode on PostgreSQL (SQLite needs neither)."""
    from sqlalchemy import event, exc

    from medianest.extensions import db

    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        return
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "checkout")
    def _check_alive(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if _closed_by_server(dbapi_connection):
            raise exc.InvalidatePoolError("the database server closed this connection")
        # Switched on the driver's connection, not through SQLAlchemy's
        # isolation_level option: resetting that on checkin costs a round trip.
        # SQLAlchemy's BEGIN is the driver's implicit one, so nothing else
        # changes; its COMMIT and ROLLBACK are no-ops in autocommit.  Only
        # when the call needs the database: a token known to this process and
        # a cached answer take no connection at all.
        if has_request_context() and request.method in ("GET", "HEAD") and request.path.startswith("/api/"):
            dbapi_connection.autocommit = True

    @event.listens_for(engine, "checkin")
    def _back_to_transactions(dbapi_connection: Any, _record: Any) -> None:
        if dbapi_connection is not None and dbapi_connection.autocommit:
            dbapi_connection.autocommit = False
