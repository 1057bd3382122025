"""The JSON API's conventions: envelope, stable codes, validation, correlation ids, no traces."""

from __future__ import annotations

import logging

import pytest

pytestmark = pytest.mark.plugins("cardtest")


def test_success_envelope_and_correlation_id_echo(admin_client):
    response = admin_client.get("/api/v1/cardtest/count", headers={"X-Correlation-Id": "abc-123"})
    assert response.get_json() == {"success": True, "data": {"count": 0, "started": True}, "meta": {}}
    assert response.headers["X-Correlation-Id"] == "abc-123"


def test_correlation_id_generated_when_absent_or_unsafe(client):
    generated = client.get("/healthz").headers["X-Correlation-Id"]
    assert len(generated) == 32
    unsafe = client.get("/healthz", headers={"X-Correlation-Id": "<script>"}).headers["X-Correlation-Id"]
    assert unsafe != "<script>" and len(unsafe) == 32


def test_pagination_meta(admin_client):
    body = admin_client.get("/api/v1/cardtest/items?page=2&per_page=10").get_json()
    assert body["data"] == list(range(11, 21))
    assert body["meta"]["pagination"] == {"page": 2, "per_page": 10, "total": 95, "pages": 10}
    bad = admin_client.get("/api/v1/cardtest/items?per_page=1000")
    assert bad.status_code == 400
    assert bad.get_json()["error"]["code"] == "VALIDATION_ERROR"
    assert bad.get_json()["error"]["details"]["fields"][0]["field"] == "per_page"
    unknown = admin_client.get("/api/v1/cardtest/items?sort=evil")
    assert unknown.status_code == 400


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b'{"name": "x", "count": 1', "application/json", 400, "INVALID_JSON"),
        (b'{"name": "x", "count": 1, "admin": true}', "application/json", 400, "VALIDATION_ERROR"),
        (b'{"name": "x", "count": "many"}', "application/json", 400, "VALIDATION_ERROR"),
        (b'["name"]', "application/json", 400, "VALIDATION_ERROR"),
        (b"name=x&count=1", "application/x-www-form-urlencoded", 415, "UNSUPPORTED_MEDIA_TYPE"),
        (b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'", "count": 1}', "application/json", 413, "PAYLOAD_TOO_LARGE"),
    ],
    ids=["malformed", "unknown-field", "wrong-type", "not-an-object", "form-body", "oversized"],
)
def test_bad_bodies_get_a_4xx_envelope(admin_client, body, content_type, status, code):
    response = admin_client.post("/api/v1/cardtest/echo", data=body, content_type=content_type)
    assert response.status_code == status
    payload = response.get_json()
    assert payload["success"] is False
    assert payload["error"]["code"] == code
    assert payload["error"]["message"]


def test_valid_body_passes(admin_client):
    response = admin_client.post("/api/v1/cardtest/echo", json={"name": "  Ann ", "count": 3})
    assert response.status_code == 200
    assert response.get_json()["data"] == {"name": "Ann", "count": 3}


def test_unknown_route_and_wrong_method_are_json_under_api(admin_client, client):
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "NOT_FOUND"
    wrong = admin_client.delete("/api/v1/cardtest/count")
    assert wrong.status_code == 405
    assert wrong.get_json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert "text/html" in page.content_type


def test_handled_error_keeps_its_code(admin_client):
    response = admin_client.get("/api/v1/cardtest/conflict")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "CONFLICT"


def test_plugin_exception_is_a_500_envelope_with_correlation_id_and_no_trace(admin_client, caplog):
    with caplog.at_level(logging.ERROR):
        response = admin_client.get("/api/v1/cardtest/boom", headers={"X-Correlation-Id": "trace-me-1"})
    assert response.status_code == 500
    error = response.get_json()["error"]
    assert error["code"] == "INTERNAL_ERROR"
    assert error["details"]["correlation_id"] == "trace-me-1"
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and "secret detail" not in text and "RuntimeError" not in text
    records = [r for r in caplog.records if r.name == "medianest.errors"]
    assert any(r.exc_info and "secret detail" in str(r.exc_info[1]) for r in records)
    assert any("plugin cardtest" in r.getMessage() for r in records)


def test_anonymous_api_call_is_401_envelope(client):
    response = client.get("/api/v1/cardtest/count")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "AUTH_REQUIRED"


def test_state_change_without_csrf_token_is_refused(admin_client):
    response = admin_client.post("/api/v1/cardtest/bump", csrf=False)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "CSRF_FAILED"
    forged = admin_client.post("/api/v1/cardtest/bump", headers={"X-CSRFToken": "forged"})
    assert forged.status_code == 403


def test_json_log_lines_carry_the_correlation_id(app, admin_client, capsys):
    from medianest.logs import configure_logging

    configure_logging("INFO", "json")
    try:
        admin_client.get("/api/v1/cardtest/boom", headers={"X-Correlation-Id": "json-log-7"})
    finally:
        logging.getLogger().handlers = [h for h in logging.getLogger().handlers if not getattr(h, "medianest", False)]
    import json

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    errors = [line for line in lines if line.get("logger") == "medianest.errors"]
    assert errors and all(line["correlation_id"] == "json-log-7" for line in errors)
    assert any("exc_info" in line for line in errors)
