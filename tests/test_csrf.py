"""CSRF is skipped only for a request authenticated by an API token that carries no session or
remember cookie: a Bearer header beside a browser's cookie no longer switches the check off."""

from __future__ import annotations

from tests.support.apps import ADMIN_PASSWORD


def _new_token(client, name: str = "script") -> str:
    answer = client.post("/api/v1/auth/tokens", json={"name": name})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return answer.get_json()["data"]["token"]


def _token_names(client) -> list[str]:
    return sorted(t["name"] for t in client.get("/api/v1/auth/tokens").get_json()["data"])


def _csrf_refused(answer) -> None:
    assert answer.status_code == 403, answer.get_data(as_text=True)[:500]
    if answer.is_json:
        assert answer.get_json()["error"]["code"] == "CSRF_FAILED"
    else:
        assert "CSRF_FAILED" in answer.get_data(as_text=True)


def test_session_cookie_with_a_bogus_bearer_still_needs_the_csrf_token(app, user_client):
    bogus = {"Authorization": "Bearer not-a-token"}
    _csrf_refused(user_client.post("/api/v1/auth/tokens", json={"name": "forged"}, headers=bogus))
    _csrf_refused(user_client.post("/auth/tokens", data={"name": "forged-form"}, headers=bogus))
    _csrf_refused(user_client.delete("/api/v1/auth/tokens/1", headers=bogus))
    assert _token_names(user_client) == []
    # With the CSRF token the same browser request goes through.
    answer = user_client.post(
        "/api/v1/auth/tokens", json={"name": "real"}, headers={**bogus, "X-CSRFToken": user_client.csrf_token()}
    )
    assert answer.status_code == 201


def test_session_cookie_with_a_valid_token_still_needs_the_csrf_token(app, user_client, other_client):
    token = _new_token(other_client)
    headers = {"Authorization": f"Bearer {token}"}
    _csrf_refused(user_client.post("/api/v1/auth/tokens", json={"name": "forged"}, headers=headers))
    assert _token_names(user_client) == [] and _token_names(other_client) == ["script"]


def test_remember_cookie_with_a_bogus_bearer_still_needs_the_csrf_token(app):
    browser = app.test_client()
    signed_in = browser.post(
        "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD, "remember": True}
    )
    assert signed_in.status_code == 200
    assert browser.get_cookie("mn_remember") is not None
    browser.delete_cookie("session")  # the browser was closed: only the remember cookie is left
    _csrf_refused(
        browser.post("/api/v1/auth/tokens", json={"name": "forged"}, headers={"Authorization": "Bearer not-a-token"})
    )


def test_a_token_alone_needs_no_csrf_token(app, user_client):
    token = _new_token(user_client)
    script = app.test_client()
    answer = script.post(
        "/api/v1/auth/tokens", json={"name": "by-script"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert "Set-Cookie" not in answer.headers
    assert _token_names(user_client) == ["by-script", "script"]


def test_a_refused_token_alone_is_told_so_not_about_csrf(app):
    answer = app.test_client().post(
        "/api/v1/auth/tokens", json={"name": "x"}, headers={"Authorization": "Bearer not-a-token"}
    )
    assert answer.status_code == 401
    assert answer.get_json()["error"]["code"] == "INVALID_TOKEN"
