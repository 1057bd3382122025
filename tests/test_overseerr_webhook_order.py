"""Webhook deliveries out of order never move a request back; Overseerr's own answer settles it."""

from __future__ import annotations

import pytest

from tests.standins.overseerr import OverseerrStandin
from tests.test_overseerr import ALICE_OVERSEERR, WEBHOOK_SECRET, configure
from tests.test_overseerr_webhook import URL, requested, reset, status_of  # noqa: F401  (a fixture)

HEADERS = {"Authorization": f"Bearer {WEBHOOK_SECRET}"}


def delivery(kind: str, request_id: int = 1) -> dict:
    """Overseerr's default template, rendered as it sends it (every value a string)."""
    media_status = {"MEDIA_PENDING": "PENDING", "MEDIA_APPROVED": "PROCESSING", "MEDIA_AVAILABLE": "AVAILABLE"}
    return {
        "notification_type": kind,
        "event": "",
        "subject": "The Matrix (1999)",
        "message": "",
        "image": "",
        "media": {
            "media_type": "movie",
            "tmdbId": "603",
            "tvdbId": "",
            "status": media_status.get(kind, "UNKNOWN"),
            "status4k": "UNKNOWN",
        },
        "request": {"request_id": str(request_id), "requestedBy_email": "alice@example.com"},
        "issue": None,
        "comment": None,
        "extra": [],
    }


@pytest.fixture
def watched(app):
    """Every media.request.updated and notification published during the test."""
    seen: list[tuple[str, dict]] = []
    for name in ("media.request.updated", "notification"):
        app.extensions["medianest.subscriptions"].setdefault(name, []).append(
            ("core", lambda payload, name=name: seen.append((name, payload)))
        )
    return seen


def post(client, kind: str) -> dict:
    response = client.post(URL, json=delivery(kind), headers=HEADERS, csrf=False)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


@pytest.fixture
def standin():
    server = OverseerrStandin()
    server.add_user("alice", plex_id=1001, user_id=ALICE_OVERSEERR)
    server.start()
    yield server
    server.stop()


def test_late_deliveries_do_not_move_an_available_request_back(app, client, requested, watched):  # noqa: F811
    assert post(client, "MEDIA_AVAILABLE")["result"] == "updated"
    watched.clear()
    for late in ("MEDIA_APPROVED", "MEDIA_AUTO_APPROVED", "MEDIA_PENDING"):
        answer = post(client, late)
        assert answer["result"] == "unchanged" and "older delivery" in answer["note"], answer
        assert status_of(app, requested) == "available"
    assert watched == []  # nobody is told "approved" after "available"


def test_each_step_forward_is_taken_once_whatever_the_order(app, client, requested, watched):  # noqa: F811
    # Approved and available arrive before the creation's pending: pending changes nothing.
    assert post(client, "MEDIA_APPROVED")["result"] == "updated"
    assert post(client, "MEDIA_PENDING")["result"] == "unchanged"
    assert status_of(app, requested) == "approved"
    assert post(client, "MEDIA_AVAILABLE")["result"] == "updated"
    assert [p["status"] for n, p in watched if n == "media.request.updated"] == ["approved", "available"]


def test_a_failed_request_approved_again_is_followed(app, client, requested):  # noqa: F811
    """Overseerr's 'retry' of a failed request approves it again: the same stage, not a step back."""
    reset(app, requested, "failed")
    assert post(client, "MEDIA_APPROVED")["result"] == "updated"
    assert status_of(app, requested) == "approved"


def test_a_late_delivery_puts_the_request_first_in_the_next_reconcile(app, client, requested, standin, watched):  # noqa: F811
    """The refused step back marks the request for Overseerr's own answer, which settles any drift."""
    from medianest_overseerr.media_requests import reconcile
    from medianest_overseerr.models import MediaRequest

    from medianest.extensions import db

    configure(app, standin.url)
    overseerr_id = standin.add_request("movie", 603, user_id=ALICE_OVERSEERR)
    with app.app_context():
        row = db.session.get(MediaRequest, requested)
        row.overseerr_id = overseerr_id
        row.status = "approved"
        db.session.commit()
    payload = delivery("MEDIA_PENDING", overseerr_id)
    assert client.post(URL, json=payload, headers=HEADERS, csrf=False).get_json()["data"]["result"] == "unchanged"
    with app.app_context():
        assert db.session.get(MediaRequest, requested).synced_at is None
    standin.set_request_status(overseerr_id, "DECLINED")  # what really happened in Overseerr meanwhile
    with app.app_context():
        assert reconcile(limit=1)["changed"] == 1
    assert status_of(app, requested) == "declined"
