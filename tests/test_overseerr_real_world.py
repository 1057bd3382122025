"""What a real Overseerr 1.34 did that the first stand-in did not: TMDB out of reach, a hanging
search, seasons held by other people's open requests."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from tests.test_overseerr import overseerr, standin  # noqa: F401  (fixtures)


def test_an_empty_search_while_tmdb_is_unreachable_is_not_kept(user_client, overseerr):  # noqa: F811
    overseerr.tmdb_reachable = False
    empty = user_client.get("/api/v1/media/search?query=matrix")
    assert empty.status_code == 200 and empty.get_json()["data"] == []
    overseerr.tmdb_reachable = True  # TMDB is back: the next search finds the film at once
    found = user_client.get("/api/v1/media/search?query=matrix").get_json()["data"]
    assert [r["tmdb_id"] for r in found][:1] == [603]
    calls = [r for r in overseerr.requests if r.path.endswith("/search")]
    assert len(calls) == 2
    assert user_client.get("/api/v1/media/search?query=matrix").get_json()["data"] == found
    assert len([r for r in overseerr.requests if r.path.endswith("/search")]) == 2  # a full answer is kept


@pytest.mark.sqlite_only
def test_a_hanging_search_costs_one_read_timeout(user_client, overseerr, monkeypatch):  # noqa: F811
    monkeypatch.setenv("MEDIANEST_OVERSEERR_READ_TIMEOUT", "1")
    from medianest.http import reset_clients

    reset_clients()
    overseerr.hanging.add("search")
    started = time.monotonic()
    response = user_client.get("/api/v1/media/search?query=matrix")
    waited = time.monotonic() - started
    assert response.status_code == 504 and response.get_json()["error"]["code"] == "SERVICE_TIMEOUT"
    assert waited < 2.5, waited  # was three attempts of one second each, plus backoff
    assert len([r for r in overseerr.requests if r.path.endswith("/search")]) == 1


def test_a_request_while_tmdb_is_unreachable_names_both_causes(user_client, overseerr):  # noqa: F811
    overseerr.tmdb_reachable = False
    response = user_client.post("/api/v1/media/requests", json={"media_type": "movie", "tmdb_id": 603})
    assert response.status_code == 404, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "NOT_FOUND"
    assert "cannot reach TMDB" in error["message"] and "knows no" not in error["message"]
    assert [r for r in overseerr.requests if r.method == "POST"] == []


def test_the_season_picker_holds_back_seasons_of_open_requests(user_client, other_client, overseerr):  # noqa: F811
    made = other_client.post("/api/v1/media/requests", json={"media_type": "tv", "tmdb_id": 1399, "seasons": [1, 2]})
    assert made.status_code == 201, made.get_json()
    page = user_client.get("/media/tv/1399").get_data(as_text=True)
    for number in (1, 2):
        assert f'value="{number}" disabled' in page, number
    assert 'value="3" >' in page or 'value="3">' in page
    assert "badge-state-pending" in page
    # Asking for them anyway changes nothing in Overseerr: it answers "no seasons available"
    again = user_client.post("/api/v1/media/requests", json={"media_type": "tv", "tmdb_id": 1399, "seasons": [1]})
    assert again.status_code == 409


def test_a_person_who_just_linked_their_account_can_request(user_client, overseerr, alice):  # noqa: F811
    """The cached list of Overseerr users does not say "not linked" to someone who linked a moment ago."""
    from tests.test_overseerr import ALICE_OVERSEERR

    alice_plex = overseerr.users[ALICE_OVERSEERR].plex_id
    overseerr.users[ALICE_OVERSEERR].plex_id = None  # not linked yet
    assert user_client.get("/api/v1/media/search?query=matrix").status_code == 200  # the user list is now cached
    refused = user_client.post("/api/v1/media/requests", json={"media_type": "movie", "tmdb_id": 603})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "MEDIA_USER_UNMATCHED"
    overseerr.users[ALICE_OVERSEERR].plex_id = alice_plex  # alice signs in to Overseerr with Plex
    made = user_client.post("/api/v1/media/requests", json={"media_type": "movie", "tmdb_id": 603})
    assert made.status_code == 201, made.get_json()
    (request,) = overseerr.media_requests.values()
    assert request.requested_by == ALICE_OVERSEERR


def test_a_person_whose_overseerr_account_was_deleted_is_told_so(user_client, overseerr, alice):  # noqa: F811
    from tests.test_overseerr import ALICE_OVERSEERR

    assert user_client.get("/api/v1/media/search?query=matrix").status_code == 200  # alice's link is cached
    with overseerr.lock:
        del overseerr.users[ALICE_OVERSEERR]
    response = user_client.post("/api/v1/media/requests", json={"media_type": "movie", "tmdb_id": 603})
    error = response.get_json()["error"]
    assert response.status_code == 403 and error["code"] == "MEDIA_USER_UNMATCHED", error
    assert "API key" not in error["message"]
    assert overseerr.media_requests == {}


# ------------------------------------------------------------------ a request's answer, late or never
def deliver_webhooks_to(app, server) -> list[dict]:
    """Overseerr posts its webhooks to MediaNest, from its own thread, as it makes the request."""
    from tests.test_overseerr import WEBHOOK_SECRET

    answers: list[dict] = []

    def sink(body: dict) -> None:
        response = app.test_client().post(
            "/api/v1/media/webhook", json=body, headers={"Authorization": f"Bearer {WEBHOOK_SECRET}"}
        )
        answers.append(response.get_json()["data"])

    server.webhook_sink = sink
    return answers


def rows(app) -> list:
    from medianest_overseerr.models import MediaRequest

    from medianest.extensions import db

    with app.app_context():
        found = db.session.scalars(db.select(MediaRequest).order_by(MediaRequest.id)).all()
        return [(r.overseerr_id, r.status, r.tmdb_id) for r in found]


def test_the_creation_webhook_before_the_answer_finds_the_request(app, user_client, overseerr):  # noqa: F811
    delivered = deliver_webhooks_to(app, overseerr)
    made = user_client.post("/api/v1/media/requests", json={"media_type": "movie", "tmdb_id": 603})
    assert made.status_code == 201, made.get_json()
    (request_id,) = overseerr.media_requests
    assert [d["result"] for d in delivered] == ["updated"], delivered  # not "ignored"
    assert rows(app) == [(request_id, "pending", 603)]
    assert made.get_json()["data"]["overseerr_id"] == request_id


@pytest.mark.sqlite_only
def test_a_request_overseerr_makes_after_medianest_stopped_waiting_is_kept(app, user_client, overseerr, monkeypatch):  # noqa: F811
    from medianest_overseerr.media_requests import reconcile

    from medianest.http import reset_clients

    monkeypatch.setenv("MEDIANEST_OVERSEERR_READ_TIMEOUT", "1")
    reset_clients()
    overseerr.create_seconds = 2.0  # Overseerr's TMDB look-ups take longer than MediaNest waits
    timed_out = user_client.post("/api/v1/media/requests", json={"media_type": "movie", "tmdb_id": 603})
    assert timed_out.status_code == 504, timed_out.get_json()
    assert rows(app) == [(None, "submitting", 603)]  # recorded, waiting for Overseerr's word
    listed = user_client.get("/api/v1/media/requests").get_json()["data"]
    assert [r["status"] for r in listed] == ["submitting"]
    deadline = time.monotonic() + 10
    while not overseerr.media_requests and time.monotonic() < deadline:
        time.sleep(0.1)
    (request_id,) = overseerr.media_requests  # Overseerr made it all the same
    with app.app_context():
        assert reconcile(unanswered_after=timedelta(0))["changed"] == 1
    assert rows(app) == [(request_id, "pending", 603)]


@pytest.mark.sqlite_only
def test_a_late_creation_webhook_settles_a_request_that_timed_out(app, user_client, overseerr, monkeypatch):  # noqa: F811
    from medianest.http import reset_clients

    monkeypatch.setenv("MEDIANEST_OVERSEERR_READ_TIMEOUT", "1")
    reset_clients()
    delivered = deliver_webhooks_to(app, overseerr)
    overseerr.create_seconds = 2.0
    assert user_client.post("/api/v1/media/requests", json={"media_type": "tv", "tmdb_id": 1399}).status_code == 504
    deadline = time.monotonic() + 10
    while not delivered and time.monotonic() < deadline:
        time.sleep(0.1)
    (request_id,) = overseerr.media_requests
    assert [d["result"] for d in delivered] == ["updated"]
    assert rows(app) == [(request_id, "pending", 1399)]


def test_requests_after_overseerr_was_replaced_are_recorded(app, user_client, overseerr, alice):  # noqa: F811
    """A new Overseerr numbers its requests from 1 again: the old row that held 1 gives it up."""
    from medianest_overseerr.models import MediaRequest

    from medianest.extensions import db

    with app.app_context():
        db.session.add(
            MediaRequest(
                user_id=alice.id, media_type="movie", tmdb_id=604, title="Old", overseerr_id=1, status="approved"
            )
        )
        db.session.commit()
    made = user_client.post("/api/v1/media/requests", json={"media_type": "movie", "tmdb_id": 603})
    assert made.status_code == 201, made.get_json()
    again = user_client.post("/api/v1/media/requests", json={"media_type": "movie", "tmdb_id": 605})
    assert again.status_code == 201, again.get_json()
    assert rows(app) == [(None, "removed", 604), (1, "pending", 603), (2, "pending", 605)]


@pytest.mark.sqlite_only
@pytest.mark.parametrize("query", ["%1E", "%20%09", "%1C%1D"])
def test_a_search_of_only_spaces_or_separators_is_bad_input(user_client, overseerr, query):  # noqa: F811
    """Python counts these as white space: nothing is left to send, so nothing is sent."""
    for path in (f"/api/v1/media/search?query={query}", f"/api/v1/plex/search?query={query}"):
        response = user_client.get(path)
        assert response.status_code == 400, (path, response.get_json())
        assert response.get_json()["error"]["code"] == "VALIDATION_ERROR"
    assert [r for r in overseerr.requests if r.path.endswith("/search")] == []
