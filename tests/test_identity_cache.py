"""The per-process API token cache: hits skip the database, every change is seen at once."""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import event, update

from tests.support.apps import build_app, make_settings, sign_in
from tests.support.services import free_port
from tests.support.waiting import wait_for


@contextlib.contextmanager
def statements(app):
    """The SQL statements the app's engine runs inside the block."""
    from medianest.extensions import db

    seen: list[str] = []

    def record(_conn, _cursor, statement, *_):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _token(client) -> str:
    made = client.post("/api/v1/auth/tokens", json={"name": "script"})
    assert made.status_code == 201, made.get_json()
    return made.get_json()["data"]["token"]


def _as_token(app, token: str, path: str = "/api/v1/auth/session"):
    return app.test_client().get(path, headers={"Authorization": f"Bearer {token}"})


def _token_queries(seen: list[str]) -> list[str]:
    return [s for s in seen if "api_tokens" in s and s.lstrip().upper().startswith("SELECT")]


def test_a_known_token_is_answered_without_a_token_query(app, user_client):
    token = _token(user_client)
    assert _as_token(app, token).status_code == 200  # a miss: loaded and remembered
    with statements(app) as seen:
        answer = _as_token(app, token)
    assert answer.status_code == 200
    assert answer.get_json()["data"]["username"] == "alice"
    assert _token_queries(seen) == []
    assert not any(s.lstrip().upper().startswith("SELECT") and "FROM users" in s for s in seen)


def test_revoke_suspend_role_and_bulk_changes_take_effect_on_the_next_call(app, user_client, admin_client, alice):
    from medianest.extensions import db
    from medianest.models import User

    token = _token(user_client)
    assert _as_token(app, token).status_code == 200
    assert _as_token(app, token, "/api/v1/admin/users").status_code == 403

    # a role change through the admin API
    assert admin_client.patch(f"/api/v1/admin/users/{alice.id}", json={"role": "admin"}).status_code == 200
    assert _as_token(app, token, "/api/v1/admin/users").status_code == 200
    assert admin_client.patch(f"/api/v1/admin/users/{alice.id}", json={"role": "user"}).status_code == 200
    assert _as_token(app, token, "/api/v1/admin/users").status_code == 403

    # a suspension (it revokes the tokens: reactivation brings none back)
    assert admin_client.patch(f"/api/v1/admin/users/{alice.id}", json={"status": "suspended"}).status_code == 200
    refused = _as_token(app, token)
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "INVALID_TOKEN"
    assert admin_client.patch(f"/api/v1/admin/users/{alice.id}", json={"status": "active"}).status_code == 200
    assert _as_token(app, token).status_code == 401
    with app.app_context():
        from medianest.auth.tokens import create_token

        _row, token = create_token(db.session.get(User, alice.id), "after reactivation")
    assert _as_token(app, token).status_code == 200

    # a bulk UPDATE whose rows the session never saw
    with app.app_context():
        db.session.execute(update(User).where(User.id == alice.id).values(display_name="Alice Liddell"))
        db.session.commit()
    assert _as_token(app, token).get_json()["data"]["name"] == "Alice Liddell"

    # a revoke (alice's browser session ended with the suspension; an admin may revoke any token)
    with app.app_context():
        from medianest.models import ApiToken

        token_id = db.session.scalar(
            db.select(ApiToken.id).where(ApiToken.user_id == alice.id, ApiToken.revoked_at.is_(None))
        )
    assert admin_client.delete(f"/api/v1/auth/tokens/{token_id}").status_code == 200
    revoked = _as_token(app, token)
    assert revoked.status_code == 401 and revoked.get_json()["error"]["code"] == "INVALID_TOKEN"


def test_a_load_that_raced_an_invalidation_is_not_remembered(app, user_client, alice):
    from medianest.extensions import db
    from medianest.models import User

    cache = app.extensions["medianest.identity_cache"]
    with app.app_context():
        user = db.session.get(User, alice.id)
        before = cache.generation()
        cache.forget({alice.id})  # a change committed while the load was under way
        cache.put("hash-of-a-token", 1, user, before)
        assert cache.get("hash-of-a-token") is None
        cache.put("hash-of-a-token", 1, user, cache.generation())
        assert cache.get("hash-of-a-token") is not None


@pytest.mark.sqlite_only
def test_a_change_made_in_another_process_is_seen_through_redis(app, tmp_path, clean_redis, user_client, alice):
    """Two apps on one database and one Redis stand for two web processes."""
    from medianest.api.budget import reset_all

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    reader = build_app(make_settings(tmp_path / "reader", url, clean_redis))
    writer = build_app(make_settings(tmp_path / "writer", url, clean_redis))
    try:
        reset_all(reader)
        token = _token(user_client)
        cache = reader.extensions["medianest.identity_cache"]
        assert _as_token(reader, token).status_code == 200  # starts the subscription
        wait_for(lambda: cache.usable, timeout=10, interval=0.05, what="the identity channel subscription")
        assert _as_token(reader, token).status_code == 200
        with statements(reader) as seen:
            assert _as_token(reader, token).status_code == 200
        assert _token_queries(seen) == []  # the reader answers from its cache

        with writer.app_context():
            from medianest.extensions import db
            from medianest.models import User

            db.session.get(User, alice.id).status = "suspended"
            db.session.commit()  # announced on the identity channel

        wait_for(
            lambda: _as_token(reader, token).status_code == 403,
            timeout=2,
            interval=0.05,
            what="the reader refusing the suspended user's token",
        )
    finally:
        for other in (reader, writer):
            other.extensions["medianest.identity_cache"].stop()
            with other.app_context():
                from medianest.extensions import db

                db.engine.dispose()


@pytest.mark.sqlite_only
def test_without_redis_every_token_is_looked_up(app, tmp_path, user_client):
    """Production mode with Redis unreachable: no subscription, so no cache, so no stale answer."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    dead = f"redis://127.0.0.1:{free_port()}/0"
    offline = build_app(make_settings(tmp_path / "offline", url, dead))
    try:
        token = _token(user_client)
        assert _as_token(offline, token).status_code == 200  # the first use also records last_used_at
        for _ in range(3):
            with statements(offline) as seen:
                assert _as_token(offline, token).status_code == 200
            assert len(_token_queries(seen)) == 1
        assert not offline.extensions["medianest.identity_cache"].usable
    finally:
        offline.extensions["medianest.identity_cache"].stop()
        with offline.app_context():
            from medianest.extensions import db

            db.engine.dispose()


def test_many_first_uses_at_once_on_a_gevent_worker(live_server_factory):
    """120 scripts start together on gunicorn + gevent + PostgreSQL: more than the pool's 30 connections.

    Every first use records ``last_used_at`` through the request's own session
    (a second connection per request could leave the worker waiting on itself
    once every pooled connection is held; the benchmark's wrk run met that).
    """
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import requests

    server = live_server_factory(backend="postgresql", redis=True, env={"MEDIANEST_RATE_LIMIT_API": "10000/minute"})
    http = server.session()
    tokens = [
        http.post(server.url + "/api/v1/auth/tokens", json={"name": f"script {i}"}, timeout=10).json()["data"]["token"]
        for i in range(10)
    ]

    together = threading.Barrier(120)

    def call(n: int) -> int:
        headers = {"Authorization": f"Bearer {tokens[n % len(tokens)]}"}
        together.wait()
        return requests.get(server.url + "/api/v1/youtube/downloads", headers=headers, timeout=20).status_code

    with ThreadPoolExecutor(max_workers=120) as pool:
        statuses = list(pool.map(call, range(120)))
    assert statuses == [200] * 120
    listed = http.get(server.url + "/api/v1/auth/tokens", timeout=10).json()["data"]
    assert all(t["last_used_at"] for t in listed)


# ------------------------------------------------------------------ the services' settings
def _a_download_with_a_folder(app, user_id: int) -> None:
    from medianest_youtube.models import Download

    from medianest.extensions import db

    with app.app_context():
        db.session.add(Download(user_id=user_id, url="https://youtu.be/x", status="completed", folder="Mix"))
        db.session.commit()


def _listed_folder(client) -> str:
    answer = client.get("/api/v1/youtube/downloads")
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["data"][0]["folder"]


def _save_download_root(app, root) -> None:
    from medianest.services import save_service_config

    with app.app_context():
        save_service_config("youtube", {"download_root": str(root)}, set())


def test_settings_are_read_once_per_process_and_a_change_is_seen_on_the_next_call(app, user_client, alice, tmp_path):
    _a_download_with_a_folder(app, alice.id)
    first = _listed_folder(user_client)
    with statements(app) as seen:
        assert _listed_folder(user_client) == first
    assert not [s for s in seen if "service_settings" in s]  # remembered: no settings query

    _save_download_root(app, tmp_path / "elsewhere")
    with statements(app) as seen:
        moved = _listed_folder(user_client)
    assert moved == str((tmp_path / "elsewhere").resolve() / str(alice.id) / "Mix")
    assert [s for s in seen if "service_settings" in s]  # dropped by the commit, read again


@pytest.mark.sqlite_only
def test_a_settings_change_in_another_process_is_seen_through_redis(app, tmp_path, clean_redis, alice):
    from medianest.api.budget import reset_all

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    reader = build_app(make_settings(tmp_path / "reader", url, clean_redis))
    writer = build_app(make_settings(tmp_path / "writer", url, clean_redis))
    try:
        reset_all(reader)
        _a_download_with_a_folder(app, alice.id)
        client = sign_in(reader.test_client(), alice)
        cache = reader.extensions["medianest.identity_cache"]
        _listed_folder(client)  # starts the subscription
        wait_for(lambda: cache.usable, timeout=10, interval=0.05, what="the identity channel subscription")
        before = _listed_folder(client)
        with statements(reader) as seen:
            assert _listed_folder(client) == before
        assert not [s for s in seen if "service_settings" in s]

        _save_download_root(writer, tmp_path / "moved")
        wanted = str((tmp_path / "moved").resolve() / str(alice.id) / "Mix")
        wait_for(lambda: _listed_folder(client) == wanted, timeout=2, interval=0.05, what="the reader's new folder")
    finally:
        for other in (reader, writer):
            other.extensions["medianest.identity_cache"].stop()
            with other.app_context():
                from medianest.extensions import db

                db.engine.dispose()


def test_a_token_caller_gets_no_csrf_token_and_no_cookie(app, user_client):
    token = _token(user_client)
    answer = _as_token(app, token)
    assert answer.status_code == 200
    assert answer.get_json()["data"]["csrf_token"] is None
    assert "Set-Cookie" not in answer.headers
    assert user_client.get("/api/v1/auth/session").get_json()["data"]["csrf_token"]  # a browser session gets one


def _counting_request_loader(app):
    """Counts the calls Flask-Login makes to the app's request loader."""
    manager = app.login_manager
    original = manager._request_callback
    calls = []

    def counted(request):
        calls.append(request.path)
        return original(request)

    manager._request_callback = counted
    return calls


def test_a_token_sent_with_a_session_cookie_leaves_the_session_user_in_charge(app, user_client, other_client):
    """With cookies, Flask-Login decides as before: the signed-in browser's user wins over a token."""
    bobs_token = _token(other_client)
    calls = _counting_request_loader(app)
    answer = user_client.get("/api/v1/auth/session", headers={"Authorization": f"Bearer {bobs_token}"})
    assert answer.status_code == 200
    assert answer.get_json()["data"]["username"] == "alice"
    assert calls == []  # the session's user was found first: the request loader is never asked
    assert _as_token(app, bobs_token).get_json()["data"]["username"] == "bob"


def test_a_wrong_token_without_cookies_is_refused_as_before(app, user_client):
    answer = _as_token(app, "mn_not-a-token", "/api/v1/youtube/downloads")
    assert answer.status_code == 401
    assert answer.get_json()["error"]["code"] == "INVALID_TOKEN"
    assert "Set-Cookie" not in answer.headers


def test_a_token_call_that_changes_the_cached_user_is_written(app, user_client, alice):
    """The cached user is attached to the request's session: what a view changes on it is committed."""
    from medianest.extensions import db
    from medianest.models import User

    token = _token(user_client)
    assert _as_token(app, token).status_code == 200  # remembered
    with (
        statements(app) as seen,
        app.test_request_context("/api/v1/auth/session", headers={"Authorization": f"Bearer {token}"}),
    ):
        from flask_login import current_user

        app.preprocess_request()
        assert current_user.username == "alice"
        assert _token_queries(seen) == []  # the cached user, not one loaded from the database
        current_user.display_name = "Alice Liddell"
        db.session.commit()
    with app.app_context():
        assert db.session.get(User, alice.id).display_name == "Alice Liddell"
