"""How MediaNest talks to its database: engine options, dead-connection checks, read-only API calls.

An API read used to cost four PostgreSQL round trips: the pool's ``SELECT 1``
ping on checkout, the ``BEGIN`` psycopg2 sends before the first statement,
the query, and the ``ROLLBACK`` when the session closes
(``docs/benchmarks.md``).  Two changes leave one:

- **Checking a pooled connection without a round trip.**  When PostgreSQL
  stops or restarts, it tells every idle client ("terminating connection due
  to administrator command") and closes the socket; either way the socket of
  an idle connection becomes readable, which a zero-timeout ``poll`` sees.
  Only then is the connection pinged, and if the ping fails it and all the
  pool's older connections are dropped (``InvalidatePoolError``): the pool
  opens fresh ones, as ``pool_pre_ping`` did on every checkout.  A server
  that vanishes without a word (a cable pulled) is not caught here; the
  pre-ping's ``SELECT 1`` would have waited for the TCP timeout there too.
- **Read-only API calls run in autocommit.**  A connection checked out for a
  ``GET``/``HEAD`` under ``/api/`` is in autocommit mode: no ``BEGIN``, no
  ``ROLLBACK``.  A read that turns out to write (a token's ``last_used_at``,
  a Plex sign-in completed by polling its PIN) leaves autocommit before its
  first write, so its writes still share one transaction.  Pages and every
  other method keep a transaction per request.
"""

from __future__ import annotations

import select
import weakref
from typing import Any

import orjson
from flask import Flask, has_request_context, request
from gevent.monkey import get_original


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
    # found on checkout by ``_check_alive`` instead of ``pool_pre_ping``.
    return {"pool_size": 20, "max_overflow": 10, "pool_recycle": 1800, **json_options}


# The system's poll, not gevent's cooperative one: a zero-timeout poll never
# blocks, and gevent's costs a trip through its hub (18 us against 1 us here).
_poll = get_original("select", "poll")


def _something_to_read(dbapi_connection: Any) -> bool:
    """An idle connection has nothing to read unless the server said something (goodbye, most likely)."""
    try:
        poller = _poll()  # not select(): it refuses descriptors past 1023, which a busy worker reaches
        poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLPRI)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True  # cannot tell: ask the server


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
        if dbapi_connection.closed:
            raise exc.InvalidatePoolError("the database connection is closed")
        if _something_to_read(dbapi_connection):
            # Most likely the server's goodbye; otherwise a message it may send
            # unasked (a changed parameter, TLS session tickets).  Only a round
            # trip tells, as pool_pre_ping did on every checkout.
            try:
                engine.dialect.do_ping(dbapi_connection)
            except Exception as error:
                raise exc.InvalidatePoolError(f"the database server closed this connection ({error})") from None
        # Switched on the driver's connection, not through SQLAlchemy's
        # isolation_level option: resetting that on checkin costs a round trip.
        # SQLAlchemy's BEGIN is the driver's implicit one, so nothing else
        # changes; its COMMIT and ROLLBACK are no-ops in autocommit.  Only
        # when the call needs the database: a token known to this process and
        # a cached answer take no connection at all.
        if has_request_context() and request.method in ("GET", "HEAD") and request.path.startswith("/api/"):
            dbapi_connection.autocommit = True

    _READ_ONLY_ENGINES.add(engine)
    _install_session_events()

    @event.listens_for(engine, "checkin")
    def _back_to_transactions(dbapi_connection: Any, _record: Any) -> None:
        if dbapi_connection is not None and dbapi_connection.autocommit:
            dbapi_connection.autocommit = False


# Engines whose API reads run in autocommit (one per PostgreSQL app).
_READ_ONLY_ENGINES: weakref.WeakSet = weakref.WeakSet()


def _leave_autocommit(session: Any) -> None:
    """Before a read's first write: back to a transaction, so its writes commit or roll back together."""
    if not (has_request_context() and request.method in ("GET", "HEAD")):
        return
    if session.get_bind() not in _READ_ONLY_ENGINES:
        return
    dbapi_connection = session.connection().connection.dbapi_connection
    if dbapi_connection.autocommit:  # autocommit is never inside a transaction: switching is allowed
        dbapi_connection.autocommit = False


def _flush_in_a_transaction(session: Any, _context: Any, _instances: Any) -> None:
    _leave_autocommit(session)


def _write_in_a_transaction(state: Any) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        _leave_autocommit(state.session)


def _install_session_events() -> None:
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    if not event.contains(Session, "before_flush", _flush_in_a_transaction):
        event.listen(Session, "before_flush", _flush_in_a_transaction)
        event.listen(Session, "do_orm_execute", _write_in_a_transaction)
