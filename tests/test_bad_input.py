"""NUL characters and absurdly nested JSON are refused at the edge with 400 INVALID_INPUT,
never a 500, on PostgreSQL and SQLite alike: JSON bodies, query strings, form fields, paths."""

from __future__ import annotations

import pytest

from tests.support.apps import ADMIN_PASSWORD

pytestmark = pytest.mark.settings(rate_limit_login="1000/minute")

DEEP = b"[" * 100_000 + b"]" * 100_000


def _nested(depth: int) -> bytes:
    return b'{"name": "deep", "extra": ' + b"[" * depth + b"]" * depth + b"}"


def _refused(answer, page: bool = False) -> None:
    assert answer.status_code == 400, answer.get_data(as_text=True)[:500]
    if page:
        assert "text/html" in answer.content_type
        assert "INVALID_INPUT" in answer.get_data(as_text=True)
    else:
        error = answer.get_json()
        assert error["success"] is False and error["error"]["code"] == "INVALID_INPUT", error


def _token_names(user_client) -> list[str]:
    return [t["name"] for t in user_client.get("/api/v1/auth/tokens").get_json()["data"]]


def test_anonymous_json_sign_in(app):
    client = app.test_client()
    _refused(client.post("/api/v1/auth/login", json={"username": "ad\x00min", "password": "x"}))
    _refused(client.post("/api/v1/auth/login", json={"username": "admin", "password": "pass\x00word"}))
    _refused(client.post("/api/v1/auth/login", json={"username\x00": "admin", "password": "x"}))
    _refused(client.post("/api/v1/auth/login", data=DEEP, content_type="application/json"))
    # Still a working sign-in afterwards.
    answer = client.post("/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert answer.status_code == 200


def test_sign_in_form(app):
    client = app.test_client()
    page = client.post("/auth/login", data={"username": "ad\x00min", "password": "x"})
    _refused(page, page=True)
    _refused(client.post("/auth/login", data={"username": "admin", "password": "x", "next": "/\x00"}), page=True)


def test_authenticated_form_route(app, user_client):
    _refused(user_client.post("/auth/tokens", data={"name": "to\x00ken"}), page=True)
    assert _token_names(user_client) == []


def test_authenticated_json_route(app, user_client):
    _refused(user_client.post("/api/v1/auth/tokens", json={"name": "to\x00ken"}))
    _refused(user_client.post("/api/v1/auth/tokens", data=DEEP, content_type="application/json"))
    _refused(user_client.post("/api/v1/auth/tokens", data=_nested(65), content_type="application/json"))
    assert _token_names(user_client) == []
    # Within the depth the schema decides (an unknown field), and an escaped backslash is no NUL.
    shallow = user_client.post("/api/v1/auth/tokens", data=_nested(60), content_type="application/json")
    assert shallow.status_code == 400 and shallow.get_json()["error"]["code"] == "VALIDATION_ERROR"
    fine = user_client.post("/api/v1/auth/tokens", data=b'{"name": "a\\\\u0000b"}', content_type="application/json")
    assert fine.status_code == 201
    assert _token_names(user_client) == ["a\\u0000b"]


def test_query_strings_and_paths(app, admin_client):
    _refused(admin_client.get("/api/v1/admin/users?q=ad%00min"))
    _refused(admin_client.get("/api/v1/admin/audit?action=%00"))
    _refused(admin_client.get("/api/v1/admin/users?q%00=x"))
    _refused(admin_client.get("/api/v1/admin/services/over%00seerr"))
    _refused(admin_client.get("/admin/users?q=%00"), page=True)
    _refused(admin_client.get("/auth/log%00in"), page=True)
    assert admin_client.get("/api/v1/admin/users?q=admin").status_code == 200


def test_invalid_json_is_still_invalid_json(app):
    answer = app.test_client().post("/api/v1/auth/login", data=b'{"username": ', content_type="application/json")
    assert answer.status_code == 400 and answer.get_json()["error"]["code"] == "INVALID_JSON"
