"""Security headers on every answer, and CSRF on every state-changing browser request (htmx included)."""

from __future__ import annotations

import pytest


@pytest.mark.sqlite_only
def test_headers_on_pages_json_and_errors(client):
    for path in ("/auth/login", "/api/v1/health", "/no-such-page", "/api/v1/auth/session"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"]
        assert "Strict-Transport-Security" not in headers  # plain HTTP: HSTS would be meaningless


@pytest.mark.sqlite_only
def test_hsts_over_https(client):
    headers = client.get("/auth/login", base_url="https://media.example.org").headers
    assert headers["Strict-Transport-Security"].startswith("max-age=")


def test_csrf_refuses_missing_and_forged_tokens(app, user_client):
    missing = user_client.post("/api/v1/auth/tokens", json={"name": "x"}, csrf=False)
    assert missing.status_code == 403 and missing.get_json()["error"]["code"] == "CSRF_FAILED"
    forged = user_client.post("/api/v1/auth/tokens", json={"name": "x"}, headers={"X-CSRFToken": "forged-token"})
    assert forged.status_code == 403 and forged.get_json()["error"]["code"] == "CSRF_FAILED"
    # htmx sends the token in the header the layout sets; a form page without it gets a readable page.
    page = user_client.post("/auth/tokens", data={"name": "x"}, headers={"HX-Request": "true"}, csrf=False)
    assert page.status_code == 403 and "security token" in page.get_data(as_text=True)
    token = user_client.csrf_token()
    ok = user_client.post(
        "/auth/tokens", data={"name": "x"}, headers={"HX-Request": "true", "X-CSRFToken": token}, csrf=False
    )
    assert ok.status_code == 200 and "mn_" in ok.get_data(as_text=True)
    # Another browser's token is no good here either.
    other = app.test_client()
    other.get("/auth/login")
    stolen = other.csrf_token()
    assert (
        user_client.post("/api/v1/auth/tokens", json={"name": "y"}, headers={"X-CSRFToken": stolen}).status_code == 403
    )


def test_bearer_requests_need_no_csrf_and_act_with_the_owners_role(app, user_client, admin_client):
    secret = user_client.post("/api/v1/auth/tokens", json={"name": "cron"}).get_json()["data"]["token"]
    script = app.test_client()
    auth = {"Authorization": f"Bearer {secret}"}
    assert (
        script.post("/api/v1/auth/tokens", json={"name": "made by a script"}, headers=auth, csrf=False).status_code
        == 201
    )
    assert script.get("/api/v1/admin/users", headers=auth).status_code == 403
    listed = user_client.get("/api/v1/auth/tokens").get_json()["data"]
    assert {t["name"] for t in listed} == {"cron", "made by a script"}
    assert next(t for t in listed if t["name"] == "cron")["last_used_at"] is not None
    assert all("token" not in t for t in listed)  # the secret is shown once, at creation
