"""Sessions: fixation, real sign-out, remember-me rotation and replay, signing out everywhere."""

from __future__ import annotations

import time

import pytest
import requests

from tests.conftest import ADMIN_PASSWORD


def _login(client, remember=False, password=ADMIN_PASSWORD):
    return client.post("/api/v1/auth/login", json={"username": "admin", "password": password, "remember": remember})


def _session_cookie(client) -> str | None:
    cookie = client.get_cookie("session")
    return cookie.value if cookie else None


def _remember_cookie(client) -> str | None:
    cookie = client.get_cookie("mn_remember")
    return cookie.value if cookie else None


def test_session_id_changes_at_sign_in_and_an_old_cookie_stays_anonymous(app):
    client = app.test_client()
    client.get("/auth/login")  # an anonymous session with a CSRF token
    before = _session_cookie(client)
    assert before
    assert _login(client).status_code == 200
    after = _session_cookie(client)
    assert after and after != before

    # A second sign-in gets another session row: the id in the cookie is new each time.
    with client.session_transaction() as s:
        first_sid = s["sid"]
    assert _login(client).status_code == 200
    with client.session_transaction() as s:
        assert s["sid"] != first_sid

    planted = app.test_client()
    planted.set_cookie("session", before)
    assert planted.get("/api/v1/auth/session").status_code == 401


def test_sign_out_ends_the_session_even_for_a_copied_cookie(app):
    client = app.test_client()
    assert _login(client).status_code == 200
    copied = _session_cookie(client)
    assert client.post("/api/v1/auth/logout").status_code == 200
    assert client.get("/api/v1/auth/session").status_code == 401

    thief = app.test_client()
    thief.set_cookie("session", copied)
    answer = thief.get("/api/v1/auth/session")
    assert answer.status_code == 401
    assert answer.get_json()["error"]["code"] == "AUTH_REQUIRED"


def test_sign_out_of_one_browser_keeps_the_others(app):
    laptop, phone = app.test_client(), app.test_client()
    assert _login(laptop).status_code == 200
    assert _login(phone).status_code == 200
    assert laptop.post("/api/v1/auth/logout").status_code == 200
    assert phone.get("/api/v1/auth/session").status_code == 200


def test_cookie_flags(app):
    client = app.test_client()
    response = _login(client, remember=True)
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("session="))
    remember = next(c for c in cookies if c.startswith("mn_remember="))
    for cookie in (session_cookie, remember):
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
    assert "Max-Age=7776000" in remember  # 90 days
    assert not any(c.startswith("remember_token=") for c in cookies)  # Flask-Login's own cookie is not used


@pytest.mark.sqlite_only
@pytest.mark.settings(base_url="https://media.example.org")
def test_cookies_are_secure_and_host_prefixed_behind_https(app):
    client = app.test_client()
    response = client.post(
        "/api/v1/auth/login",
        json={"username": "admin", "password": ADMIN_PASSWORD, "remember": True},
        base_url="https://media.example.org",
    )
    assert response.status_code == 200
    cookies = response.headers.getlist("Set-Cookie")
    assert any(c.startswith("__Host-medianest=") and "Secure" in c and "Path=/" in c for c in cookies)
    assert any(c.startswith("__Host-mn_remember=") and "Secure" in c for c in cookies)


def test_remember_token_rotates_on_use_and_a_replay_revokes_the_series(app):
    from medianest.extensions import db
    from medianest.models import RememberToken

    client = app.test_client()
    assert _login(client, remember=True).status_code == 200
    first = _remember_cookie(client)
    assert first and "." in first

    # A new browser session (the session cookie is gone) signs in from the remember cookie...
    browser = app.test_client()
    browser.set_cookie("mn_remember", first)
    assert browser.get("/api/v1/auth/session").status_code == 200
    second = _remember_cookie(browser)
    assert second and second != first
    assert second.split(".")[0] == first.split(".")[0]  # same series, new token

    # ...and only the stored hash exists, never the token.
    with app.app_context():
        row = db.session.scalar(db.select(RememberToken))
        assert first.split(".")[1] not in row.token_hash and second.split(".")[1] not in row.token_hash

    # The rotated token works once more in yet another fresh session.
    again = app.test_client()
    again.set_cookie("mn_remember", second)
    assert again.get("/api/v1/auth/session").status_code == 200
    third = _remember_cookie(again)

    # Someone replays the old (copied) token: refused, and the whole series dies.
    thief = app.test_client()
    thief.set_cookie("mn_remember", first)
    assert thief.get("/api/v1/auth/session").status_code == 401
    owner = app.test_client()
    owner.set_cookie("mn_remember", third)
    assert owner.get("/api/v1/auth/session").status_code == 401
    with app.app_context():
        row = db.session.scalar(db.select(RememberToken))
        assert row.revoked_at is not None and "replayed" in row.revoked_reason


def test_remember_cookie_is_revoked_by_sign_out(app):
    client = app.test_client()
    assert _login(client, remember=True).status_code == 200
    token = _remember_cookie(client)
    assert client.post("/api/v1/auth/logout").status_code == 200
    later = app.test_client()
    later.set_cookie("mn_remember", token)
    assert later.get("/api/v1/auth/session").status_code == 401


def test_suspending_signs_out_sessions_and_remember_cookies(app, admin_client):
    from medianest.extensions import db
    from medianest.models import User

    with app.app_context():
        user = User(username="carol", is_local=True, role="user")
        from medianest.auth.passwords import hash_password

        user.password_hash = hash_password("carol-password-123")
        db.session.add(user)
        db.session.commit()
        carol_id = user.id
    carol = app.test_client()
    assert (
        carol.post(
            "/api/v1/auth/login", json={"username": "carol", "password": "carol-password-123", "remember": True}
        ).status_code
        == 200
    )
    remember = _remember_cookie(carol)
    assert admin_client.patch(f"/api/v1/admin/users/{carol_id}", json={"status": "suspended"}).status_code == 200
    assert carol.get("/api/v1/auth/session").status_code == 401
    fresh = app.test_client()
    fresh.set_cookie("mn_remember", remember)
    assert fresh.get("/api/v1/auth/session").status_code == 401
    # Reactivated, the old cookies stay dead: signing out everywhere is final.
    assert admin_client.patch(f"/api/v1/admin/users/{carol_id}", json={"status": "active"}).status_code == 200
    assert carol.get("/api/v1/auth/session").status_code == 401


def test_role_change_signs_out_and_disconnects_socketio(app, admin_client, alice):
    from medianest.extensions import socketio

    alice_client = app.test_client()
    from tests.support.apps import sign_in

    sign_in(alice_client, alice)
    sock = socketio.test_client(app, flask_test_client=alice_client)
    assert sock.is_connected()
    assert admin_client.patch(f"/api/v1/admin/users/{alice.id}", json={"role": "admin"}).status_code == 200
    assert not sock.is_connected()
    assert alice_client.get("/api/v1/auth/session").status_code == 401


def _socket_client(server, cookie_jar):
    import socketio as sio

    client = sio.Client(reconnection=False)
    events: list[str] = []
    client.on("session.ended", lambda data: events.append("session.ended"))
    cookie = "; ".join(f"{c.name}={c.value}" for c in cookie_jar)
    client.connect(server.url, headers={"Cookie": cookie}, transports=["websocket"], wait_timeout=10)
    return client, events


@pytest.mark.slow
def test_suspend_signs_out_a_live_socket_held_by_another_process(live_server_factory, tmp_path):
    """Two web processes share PostgreSQL-free SQLite and Redis: the socket is on A, the suspend happens on B."""
    db_url = f"sqlite:///{tmp_path / 'shared.db'}"
    a = live_server_factory(redis=True, env={"DATABASE_URL": db_url}, name="a")
    b = live_server_factory(redis=True, env={"DATABASE_URL": db_url, "REDIS_URL": a.env["REDIS_URL"]}, name="b")

    admin = b.session()

    # Alice is a local account made directly in the shared database.
    import sqlalchemy as sa

    from medianest.auth.passwords import hash_password

    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO users (username, display_name, role, status, is_local, password_hash, session_token, "
                "created_at)"
                " VALUES ('alice', 'Alice', 'user', 'active', 1, :h, 'tok', CURRENT_TIMESTAMP)"
            ),
            {"h": hash_password("alice-password-123")},
        )
        alice_id = conn.execute(sa.text("SELECT id FROM users WHERE username='alice'")).scalar()
    engine.dispose()

    alice = requests.Session()
    assert alice.post(
        a.url + "/api/v1/auth/login", json={"username": "alice", "password": "alice-password-123"}, timeout=10
    ).ok
    sock, events = _socket_client(a, alice.cookies)
    try:
        assert sock.connected
        answer = admin.patch(b.url + f"/api/v1/admin/users/{alice_id}", json={"status": "suspended"}, timeout=10)
        assert answer.status_code == 200, answer.text
        deadline = time.monotonic() + 10
        while sock.connected and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not sock.connected, "the socket on the other process is still open"
        assert "session.ended" in events
        assert alice.get(a.url + "/api/v1/auth/session", timeout=10).status_code == 401
    finally:
        sock.disconnect()
