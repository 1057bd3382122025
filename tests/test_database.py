"""The database layer on PostgreSQL: dead pooled connections found without a ping, read-only API calls in autocommit."""

from __future__ import annotations

import psycopg2
import pytest
from sqlalchemy import event

from medianest.extensions import db

pytestmark = pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)


def _terminate_backends(app) -> int:
    """Cut every connection MediaNest holds, as a PostgreSQL restart or an admin's pg_terminate_backend does."""
    with app.app_context():
        url = db.engine.url
    conn = psycopg2.connect(host=url.host, port=url.port, user=url.username, password=url.password, dbname=url.database)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        cut = cur.rowcount
    conn.close()
    return cut


def test_connections_the_server_closed_are_replaced_on_checkout(app, admin_client):
    for _ in range(3):
        assert admin_client.get("/api/v1/admin/users").status_code == 200
    with app.app_context():
        pooled = db.engine.pool.checkedin()
    assert pooled >= 1
    assert _terminate_backends(app) >= pooled

    # Every request after the cut is answered: the first checkout sees the closed
    # socket, drops the pool's connections and opens a fresh one.  A page comes
    # first: its first query is the signed-in user's, which nothing retries.
    for path in ("/", "/api/v1/admin/users", "/api/v1/auth/session"):
        response = admin_client.get(path)
        assert response.status_code == 200, (path, response.get_data(as_text=True)[:300])
    created = admin_client.post("/api/v1/auth/tokens", json={"name": "after the cut"})
    assert created.status_code == 201, created.get_data(as_text=True)


def test_idle_connections_are_not_mistaken_for_dead_ones(app, admin_client):
    with app.app_context():
        engine = db.engine
    opened = []

    def count(*_args) -> None:
        opened.append(1)

    event.listen(engine, "connect", count)
    try:
        assert admin_client.get("/api/v1/auth/session").status_code == 200
        before = len(opened)
        for _ in range(5):
            assert admin_client.get("/api/v1/admin/users").status_code == 200
            assert admin_client.post("/api/v1/auth/tokens", json={"name": "t"}).status_code == 201
        assert len(opened) == before  # the pooled connection was reused every time
    finally:
        event.remove(engine, "connect", count)


def test_a_write_made_by_a_read_only_call_is_kept(app, admin_client):
    token = admin_client.post("/api/v1/auth/tokens", json={"name": "first use"}).get_json()["data"]
    fresh = app.test_client()
    answer = fresh.get("/api/v1/auth/session", headers={"Authorization": f"Bearer {token['token']}"})
    assert answer.status_code == 200
    from medianest.models import ApiToken

    with app.app_context():
        stored = db.session.get(ApiToken, token["id"])
        assert stored.last_used_at is not None


def _connections_opened(engine) -> list[int]:
    opened: list[int] = []
    event.listen(engine, "connect", lambda *_: opened.append(1))
    return opened


def test_connections_with_descriptors_past_1023_are_used_not_mistaken_for_dead(app, admin_client):
    """A worker with a thousand Socket.IO clients holds its database sockets on high descriptors."""
    import os

    with app.app_context():
        engine = db.engine
    engine.dispose()  # the next connection is opened above the pipes
    pipes = [os.pipe()]
    while min(pipes[-1]) < 1030:  # every free descriptor below is taken
        pipes.append(os.pipe())
    try:
        with app.app_context():
            opened = _connections_opened(engine)
            with engine.connect() as conn:
                assert conn.connection.dbapi_connection.fileno() > 1023
        for _ in range(5):
            assert admin_client.get("/api/v1/admin/users").status_code == 200
        assert len(opened) == 1  # one connection, reused: never taken for dead
    finally:
        for read_end, write_end in pipes:
            os.close(read_end)
            os.close(write_end)


def test_a_connection_the_server_spoke_to_unasked_is_pinged_and_kept(app, admin_client):
    """Readable is not always dead: a notification (or a changed parameter) also makes the socket readable."""
    from sqlalchemy import text

    with app.app_context():
        engine = db.engine
        with engine.connect() as conn:  # the pool's one connection listens on a channel
            conn.execute(text("LISTEN medianest_test"))
            conn.commit()
        opened = _connections_opened(engine)
    _notify(app, "medianest_test")
    for _ in range(3):
        assert admin_client.get("/api/v1/admin/users").status_code == 200
    assert opened == []  # pinged, found alive, kept


def _notify(app, channel: str) -> None:
    with app.app_context():
        url = db.engine.url
    conn = psycopg2.connect(host=url.host, port=url.port, user=url.username, dbname=url.database)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"NOTIFY {channel}")
    conn.close()


def test_a_read_that_writes_does_so_in_one_transaction(app, admin_client):
    """A GET under /api/ that writes (a Plex sign-in completed by polling) keeps its writes atomic."""
    from medianest.access import public
    from medianest.models import AuditEvent

    def two_writes_then_a_failure():
        db.session.add(AuditEvent(actor_name="test", action="test.first", target="x"))
        db.session.flush()
        db.session.add(AuditEvent(actor_name="test", action="test.second", target="x"))
        db.session.flush()
        raise RuntimeError("the view fails after writing")

    def two_writes():
        db.session.add(AuditEvent(actor_name="test", action="test.kept", target="x"))
        db.session.flush()
        db.session.add(AuditEvent(actor_name="test", action="test.kept", target="y"))
        db.session.commit()
        return {"ok": True}

    app.add_url_rule("/api/v1/test-writes-then-fails", view_func=public(two_writes_then_a_failure))
    app.add_url_rule("/api/v1/test-writes", view_func=public(two_writes))
    with app.app_context():
        engine = db.engine
    seen: list[tuple[str, bool]] = []

    def record(conn, _cursor, statement, *_args) -> None:
        seen.append((statement.split()[0].upper(), conn.connection.dbapi_connection.autocommit))

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert admin_client.get("/api/v1/test-writes-then-fails").status_code == 500
        assert admin_client.get("/api/v1/test-writes").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    with app.app_context():
        actions = [e.action for e in db.session.scalars(db.select(AuditEvent).where(AuditEvent.actor_name == "test"))]
    assert actions == ["test.kept", "test.kept"]  # nothing of the failed call was kept
    assert [autocommit for verb, autocommit in seen if verb == "INSERT"] == [False] * 4
