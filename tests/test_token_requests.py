"""Calls made with a personal API token: every change is seen on the next call, many first uses at once,
no cookie for a script, and a session cookie beside a token keeps its user."""

from __future__ import annotations

from sqlalchemy import update

from medianest.auth.identity import load_user_from_request
from medianest.auth.tokens import create_token
from medianest.extensions import db
from medianest.models import ApiToken, User


def _token(client) -> str:
    made = client.post("/api/v1/auth/tokens", json={"name": "script"})
    assert made.status_code == 201, made.get_json()
    return made.get_json()["data"]["token"]


def _as_token(app, token: str, path: str = "/api/v1/auth/session"):
    return app.test_client().get(path, headers={"Authorization": f"Bearer {token}"})


def test_revoke_suspend_role_and_bulk_changes_take_effect_on_the_next_call(app, user_client, admin_client, alice):

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
        _row, token = create_token(db.session.get(User, alice.id), "after reactivation")
    assert _as_token(app, token).status_code == 200

    # a bulk UPDATE whose rows the session never saw
    with app.app_context():
        db.session.execute(update(User).where(User.id == alice.id).values(display_name="Alice Liddell"))
        db.session.commit()
    assert _as_token(app, token).get_json()["data"]["name"] == "Alice Liddell"

    # a revoke (alice's browser session ended with the suspension; an admin may revoke any token)
    with app.app_context():
        token_id = db.session.scalar(
            db.select(ApiToken.id).where(ApiToken.user_id == alice.id, ApiToken.revoked_at.is_(None))
        )
    assert admin_client.delete(f"/api/v1/auth/tokens/{token_id}").status_code == 200
    revoked = _as_token(app, token)
    assert revoked.status_code == 401 and revoked.get_json()["error"]["code"] == "INVALID_TOKEN"


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


def test_a_token_caller_gets_no_csrf_token_and_no_cookie(app, user_client):
    token = _token(user_client)
    answer = _as_token(app, token)
    assert answer.status_code == 200
    assert answer.get_json()["data"]["csrf_token"] is None
    assert "Set-Cookie" not in answer.headers
    assert user_client.get("/api/v1/auth/session").get_json()["data"]["csrf_token"]  # a browser session gets one


def _counting_request_loader(app):
    """Counts the calls Flask-Login makes to the app's request loader."""
    calls = []

    def counted(request):
        calls.append(request.path)
        return load_user_from_request(request)

    app.login_manager.request_loader(counted)
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
    assert calls == ["/api/v1/auth/session"]  # without cookies, the token is read by the request loader


def test_a_wrong_token_without_cookies_is_refused_as_before(app, user_client):
    answer = _as_token(app, "mn_not-a-token", "/api/v1/youtube/downloads")
    assert answer.status_code == 401
    assert answer.get_json()["error"]["code"] == "INVALID_TOKEN"
    assert "Set-Cookie" not in answer.headers
