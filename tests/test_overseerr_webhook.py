"""Overseerr's webhook: every captured payload replayed, strict authentication, forgiving shape."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from tests.standins.overseerr import CONTRACTS_DIR
from tests.test_overseerr import WEBHOOK_SECRET, configure

WEBHOOKS = CONTRACTS_DIR / "overseerr" / "webhooks"
URL = "/api/v1/media/webhook"
EXPECTED = {
    "MEDIA_PENDING": "pending",
    "MEDIA_APPROVED": "approved",
    "MEDIA_AUTO_APPROVED": "approved",
    "MEDIA_AVAILABLE": "available",
    "MEDIA_DECLINED": "declined",
    "MEDIA_FAILED": "failed",
}


def examples(path: Path) -> list[dict]:
    """The JSON objects of a webhook_examples_*.txt file (concatenated, with 'skip' notes between)."""
    text, decoder, found, position = path.read_text(), json.JSONDecoder(), [], 0
    while (start := text.find("{", position)) >= 0:
        example, position = decoder.raw_decode(text, start)
        found.append(example)
    return found


def captured_payloads() -> list[tuple[str, dict, str | None]]:
    """(id, body, Authorization header as sent) for every payload in the contracts folder."""
    payloads = []
    for name in ("webhook_examples_movie.txt", "webhook_examples_tv.txt"):
        for n, body in enumerate(examples(WEBHOOKS / name)):
            payloads.append((f"{name.split('_')[-1][:-4]}-{n}-{body['notification_type']}", body, None))
    for n, line in enumerate((WEBHOOKS / "real_webhooks.jsonl").read_text().splitlines()):
        if line.strip():
            sent = json.loads(line)
            payloads.append(
                (f"real-{n}-{sent['body']['notification_type']}", sent["body"], sent["headers"]["Authorization"])
            )
    return payloads


PAYLOADS = captured_payloads()


def test_every_captured_payload_is_replayed():
    kinds = {body["notification_type"] for _, body, _ in PAYLOADS}
    assert len(PAYLOADS) == 34
    assert (
        set(EXPECTED) | {"TEST_NOTIFICATION", "ISSUE_CREATED", "ISSUE_COMMENT", "ISSUE_RESOLVED", "ISSUE_REOPENED"}
        == kinds
    )


@pytest.fixture
def requested(app, alice):
    """A MediaNest request that Overseerr knows as request 1 (the id every captured payload names)."""
    from medianest_overseerr.models import MediaRequest

    from medianest.extensions import db

    configure(app, "http://127.0.0.1:9")
    with app.app_context():
        row = MediaRequest(
            user_id=alice.id, media_type="movie", tmdb_id=603, title="The Matrix", overseerr_id=1, status="pending"
        )
        db.session.add(row)
        db.session.commit()
        return row.id


def status_of(app, request_id: int) -> str:
    from medianest_overseerr.models import MediaRequest

    from medianest.extensions import db

    with app.app_context():
        return db.session.get(MediaRequest, request_id).status


def reset(app, request_id: int, status: str = "pending") -> None:
    from medianest_overseerr.models import MediaRequest

    from medianest.extensions import db

    with app.app_context():
        db.session.get(MediaRequest, request_id).status = status
        db.session.commit()


def test_every_captured_payload_is_accepted(app, client, requested, alice):
    seen: list[tuple[str, dict]] = []
    for name in ("media.request.updated", "notification"):
        app.extensions["medianest.subscriptions"].setdefault(name, []).append(
            ("core", lambda p, n=name: seen.append((n, p)))
        )
    for label, body, authorization in PAYLOADS:
        reset(app, requested)
        seen.clear()
        if authorization is not None:  # what the real Overseerr sent, verbatim
            configure(app, "http://127.0.0.1:9", webhook_secret=authorization.removeprefix("Bearer "))
        else:
            configure(app, "http://127.0.0.1:9")
            authorization = f"Bearer {WEBHOOK_SECRET}"
        kind = body["notification_type"]
        response = client.post(
            URL,
            data=json.dumps(body),
            headers={"Authorization": authorization, "Content-Type": "application/json"},
            csrf=False,
        )
        assert response.status_code == 200, (label, response.get_json())
        data = response.get_json()["data"]
        assert data["notification_type"] == kind, label
        if kind in EXPECTED:
            expected = EXPECTED[kind]
            assert status_of(app, requested) == expected, label
            if expected == "pending":
                assert data["result"] == "unchanged" and seen == [], label
                continue
            assert data["result"] == "updated" and data["request_ids"] == [requested], label
            event = {"user_id": alice.id, "request_id": requested, "title": "The Matrix", "media_type": "movie"}
            assert ("media.request.updated", {**event, "status": expected}) in seen, label
            notes = [p for n, p in seen if n == "notification"]
            assert len(notes) == 1 and notes[0]["user_id"] == alice.id and "The Matrix" in notes[0]["message"], label
        elif kind == "TEST_NOTIFICATION":
            assert data["result"] == "test" and status_of(app, requested) == "pending", label
        else:
            assert data["result"] == "ignored" and status_of(app, requested) == "pending" and seen == [], label


def test_available_says_so_to_the_requester(app, client, requested, alice):
    seen = []
    app.extensions["medianest.subscriptions"].setdefault("notification", []).append(("core", seen.append))
    body = next(b for _, b, _ in PAYLOADS if b["notification_type"] == "MEDIA_AVAILABLE")
    headers = {"Authorization": f"Bearer {WEBHOOK_SECRET}"}
    assert client.post(URL, json=body, headers=headers, csrf=False).status_code == 200
    assert seen == [
        {
            "user_id": alice.id,
            "level": "success",
            "message": "The Matrix is now available.",
            "link": "/media/requests",
            "kind": "request.available",
        }
    ]
    # Overseerr retries and repeats: the same news is not told twice.
    assert client.post(URL, json=body, headers=headers, csrf=False).get_json()["data"]["result"] == "unchanged"
    assert len(seen) == 1


def test_test_notification_is_acknowledged_and_shown_to_the_admin(app, client, admin_client, requested):
    body = next(b for _, b, _ in PAYLOADS if b["notification_type"] == "TEST_NOTIFICATION")
    response = client.post(
        URL, json=body, headers={"Authorization": WEBHOOK_SECRET}, csrf=False
    )  # bare secret works too
    assert response.status_code == 200 and response.get_json()["data"]["result"] == "test"
    page = admin_client.get("/media/admin/webhook").get_data(as_text=True)
    assert "Last test notification received: <time" in page


def test_wrong_secret_is_401_and_changes_nothing(app, client, requested):
    body = next(b for _, b, _ in PAYLOADS if b["notification_type"] == "MEDIA_AVAILABLE")
    wrong = [None, "", "Bearer wrong", f"Bearer {WEBHOOK_SECRET}x", WEBHOOK_SECRET[:-1], f"Basic {WEBHOOK_SECRET}"]
    for authorization in wrong:
        headers = {} if authorization is None else {"Authorization": authorization}
        response = client.post(URL, json=body, headers=headers, csrf=False)
        assert response.status_code == 401, authorization
        assert response.get_json()["error"]["code"] in ("AUTH_REQUIRED", "INVALID_TOKEN")
    # Strict about authentication first: a wrong secret with a broken body is still a 401.
    broken = client.post(URL, data=b"{not json", headers={"Authorization": "Bearer nope"}, csrf=False)
    assert broken.status_code == 401
    assert status_of(app, requested) == "pending"


def test_malformed_body_is_400(app, client, requested):
    cases = [
        (b"{not json", "INVALID_JSON"),
        (b"", "VALIDATION_ERROR"),
        (b"[1, 2]", "VALIDATION_ERROR"),
        (b'"MEDIA_AVAILABLE"', "VALIDATION_ERROR"),
        (b"\xff\xfe", "INVALID_JSON"),
    ]
    for raw, code in cases:
        response = client.post(
            URL,
            data=raw,
            headers={"Authorization": f"Bearer {WEBHOOK_SECRET}", "Content-Type": "application/json"},
            csrf=False,
        )
        assert response.status_code == 400, raw
        assert response.get_json()["error"]["code"] == code, raw
    assert status_of(app, requested) == "pending"


def test_unknown_request_is_accepted_ignored_and_logged(app, client, requested, caplog):
    body = next(b for _, b, _ in PAYLOADS if b["notification_type"] == "MEDIA_AVAILABLE")
    body = {**body, "request": {**body["request"], "request_id": "999"}}
    with caplog.at_level(logging.INFO, logger="medianest.overseerr"):
        response = client.post(URL, json=body, headers={"Authorization": f"Bearer {WEBHOOK_SECRET}"}, csrf=False)
    assert response.status_code == 200 and response.get_json()["data"]["result"] == "ignored"
    assert status_of(app, requested) == "pending"
    assert any("no MediaNest request matches" in r.getMessage() and "999" in r.getMessage() for r in caplog.records)


def test_edited_template_without_request_section_matches_by_media(app, client, requested):
    """An admin-edited template: no request section, numbers as numbers, a field missing."""
    body = {"notification_type": "MEDIA_AVAILABLE", "media": {"media_type": "movie", "tmdbId": 603}}
    response = client.post(URL, json=body, headers={"Authorization": f"Bearer {WEBHOOK_SECRET}"}, csrf=False)
    assert response.status_code == 200 and response.get_json()["data"]["result"] == "updated"
    assert status_of(app, requested) == "available"


def test_odd_shapes_are_accepted_and_ignored(app, client, requested):
    shapes = [
        {},
        {"notification_type": None},
        {"notification_type": "MEDIA_AVAILABLE", "media": None, "request": None},
        {"notification_type": "MEDIA_AVAILABLE", "request": {"request_id": "one"}},
        {"notification_type": 8, "request": "1"},
        {"notification_type": "MEDIA_AVAILABLE", "media": {"tmdbId": "603"}},
        {"notification_type": ["MEDIA_AVAILABLE"], "media": [], "request": 7},
    ]
    for body in shapes:
        response = client.post(URL, json=body, headers={"Authorization": f"Bearer {WEBHOOK_SECRET}"}, csrf=False)
        assert response.status_code == 200, body
        assert response.get_json()["data"]["result"] == "ignored", body
    assert status_of(app, requested) == "pending"


@pytest.mark.settings(rate_limit_api="3/minute")
def test_webhook_needs_no_csrf_and_is_not_counted_against_the_api_rate_limit(client, requested):
    body = next(b for _, b, _ in PAYLOADS if b["notification_type"] == "MEDIA_PENDING")
    headers = {"Authorization": f"Bearer {WEBHOOK_SECRET}"}
    assert [client.post(URL, json=body, headers=headers, csrf=False).status_code for _ in range(6)] == [200] * 6
