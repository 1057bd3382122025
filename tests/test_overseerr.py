"""The Overseerr plugin against the stateful stand-in: search, request, my requests, status.

Every request MediaNest sends to the stand-in is validated against
``overseerr-api.yml`` (``standin.validate_requests()``) at the end of each test.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from medianest_overseerr import answer_cache
from medianest_overseerr.client import plex_url_of
from medianest_overseerr.config import SECRET_FIELDS
from medianest_overseerr.media_requests import reconcile
from medianest_overseerr.models import MediaRequest
from medianest_overseerr.plugin import test_connection as overseerr_connection_test

from medianest.extensions import db
from medianest.http import reset_clients
from medianest.models import ServiceStatus, User, utcnow
from medianest.service_settings import save_service_config, service_config, service_definitions
from medianest.status import run_checks
from tests.standins.overseerr import PLEX_MACHINE_ID, OverseerrStandin, Permission

WEBHOOK_SECRET = "hook-secret-for-tests"
ALICE_OVERSEERR = 10
BOB_OVERSEERR = 11


# ------------------------------------------------------------------ fixtures
@pytest.fixture
def standin() -> Iterator[OverseerrStandin]:
    server = OverseerrStandin()
    server.add_user("alice", plex_id=1001, user_id=ALICE_OVERSEERR)
    server.add_user("bob", plex_id=1002, user_id=BOB_OVERSEERR)
    server.start()
    yield server
    server.stop()
    problems = server.validate_requests()
    assert problems == [], problems


def configure(app, url: str, **extra: str) -> None:

    with app.app_context():
        values = {"url": url, "api_key": "testkey", "webhook_secret": WEBHOOK_SECRET, **extra}
        save_service_config("overseerr", values, SECRET_FIELDS)
        reset_clients()
        answer_cache.forget_all()


@pytest.fixture
def overseerr(app, standin) -> OverseerrStandin:
    configure(app, standin.url)
    return standin


@pytest.fixture
def bus(app) -> list[tuple[str, dict]]:
    """Every event published on the bus during the test, in order."""
    seen: list[tuple[str, dict]] = []
    subscriptions = app.extensions["medianest.subscriptions"]
    for name in ("media.request.created", "media.request.updated", "notification"):
        subscriptions.setdefault(name, []).append(("core", lambda payload, name=name: seen.append((name, payload))))
    return seen


def sent(standin: OverseerrStandin, method: str, path: str) -> list:
    return [r for r in standin.requests if r.method == method and r.path == "/api/v1" + path]


def record(app, request_id: int):

    with app.app_context():
        row = db.session.get(MediaRequest, request_id)
        db.session.expunge(row)
        return row


# ------------------------------------------------------------------ search
def test_search_sends_spaces_as_percent_20_and_caches_five_minutes(user_client, overseerr):
    response = user_client.get("/api/v1/media/search?query=the matrix")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    titles = [r["title"] for r in body["data"]]
    assert titles[0] == "The Matrix" and "The Matrix Reloaded" in titles
    first = body["data"][0]
    assert first["media_type"] == "movie" and first["tmdb_id"] == 603 and first["year"] == 1999
    assert first["poster_url"].endswith("/f89U3ADr1oiB1s9GkdPOEpXUk5H.jpg")
    assert first["state"] == "none" and first["requestable"] is True
    assert first["action"] == "Request film (waits for approval)"  # alice may request, not auto-approve
    assert body["meta"]["pagination"] == {"page": 1, "per_page": 20, "total": 3, "pages": 1, "total_exact": True}
    searches = sent(overseerr, "GET", "/search")
    assert len(searches) == 1 and "query=the%20matrix" in searches[0].query_string

    again = user_client.get("/api/v1/media/search?query=The   Matrix")
    assert again.get_json()["data"] == body["data"]
    assert len(sent(overseerr, "GET", "/search")) == 1  # served from the cache


def test_search_shows_state_in_overseerr(user_client, overseerr):
    overseerr.set_media_status(603, "movie", "AVAILABLE")
    overseerr.set_media_status(604, "movie", "PENDING")
    overseerr.set_media_status(1399, "tv", "PARTIALLY_AVAILABLE", seasons={1: "AVAILABLE"})
    states = {r["tmdb_id"]: r for r in user_client.get("/api/v1/media/search?query=matrix").get_json()["data"]}
    assert states[603]["state"] == "available" and not states[603]["requestable"]
    assert states[603]["action"] == "Already available"
    assert states[604]["state"] == "pending" and not states[604]["requestable"]
    series = user_client.get("/api/v1/media/search?query=game of thrones").get_json()["data"][0]
    assert series["state"] == "partially_available" and series["requestable"]
    assert series["action"].startswith("Request missing seasons")


@pytest.mark.sqlite_only  # paging is the same on either engine
def test_search_pagination_counts_only_the_films_and_series_shown(user_client, overseerr):
    """Overseerr's pages mix in people MediaNest leaves out: its totals are not MediaNest's."""
    for n in range(25):
        overseerr.add_title("movie", 900_000 + n, f"Nebula Film {n:02d}", date="2001-01-01")
    for n in range(30):  # more popular than the films: Overseerr's first page is people only
        overseerr.add_person(800_000 + n, f"Nebula Person {n:02d}", popularity=50.0)

    first = user_client.get("/api/v1/media/search?query=nebula").get_json()
    assert first["meta"]["pagination"] == {"page": 1, "per_page": 20, "total": 25, "pages": 2, "total_exact": True}
    assert len(first["data"]) == 20 and {r["media_type"] for r in first["data"]} == {"movie"}
    second = user_client.get("/api/v1/media/search?query=nebula&page=2").get_json()
    assert second["meta"]["pagination"] == {"page": 2, "per_page": 20, "total": 25, "pages": 2, "total_exact": True}
    shown = [r["tmdb_id"] for r in first["data"] + second["data"]]
    assert sorted(shown) == [900_000 + n for n in range(25)]  # every film once, no person
    # Overseerr said 55 results on 3 pages; MediaNest read them once and pages what it keeps.
    assert [r.query["page"] for r in sent(overseerr, "GET", "/search")] == [["1"], ["2"], ["3"]]

    html = user_client.get("/media/?query=nebula&page=2", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "25 results for" in html and "Page 2 of 2" in html and "Nebula Person" not in html
    only_people = user_client.get("/api/v1/media/search?query=nebula person").get_json()
    assert only_people["data"] == [] and only_people["meta"]["pagination"]["total"] == 0


@pytest.mark.sqlite_only
def test_search_reads_at_most_five_overseerr_pages_and_says_to_narrow(user_client, overseerr):
    for n in range(130):
        overseerr.add_title("movie", 910_000 + n, f"Quasar {n:03d}", date="2002-02-02")
    body = user_client.get("/api/v1/media/search?query=quasar&page=5").get_json()
    assert body["meta"]["pagination"] == {"page": 5, "per_page": 20, "total": 100, "pages": 5, "total_exact": False}
    assert len(body["data"]) == 20
    assert len(sent(overseerr, "GET", "/search")) == 5
    html = user_client.get("/media/?query=quasar", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "add words to narrow the search" in html


@pytest.mark.sqlite_only  # input validation: the database engine plays no part
def test_bad_search_is_400_and_nothing_reaches_overseerr(user_client, overseerr):
    for params in ({"query": ""}, {"query": "   "}, {"query": "x" * 500}, {}, {"query": "matrix", "page": "0"}):
        response = user_client.get("/api/v1/media/search", query_string=params)
        assert response.status_code == 400, params
        assert response.get_json()["error"]["code"] == "VALIDATION_ERROR"
    assert overseerr.requests == []


@pytest.mark.sqlite_only
def test_search_needs_sign_in(client, overseerr):
    assert client.get("/api/v1/media/search?query=matrix").status_code == 401
    assert overseerr.requests == []


# ------------------------------------------------------------------ requests
def test_film_request_is_made_on_behalf_of_the_user(app, user_client, alice, overseerr, bus):
    response = user_client.post("/api/v1/media/requests", json={"media_type": "movie", "tmdb_id": 603})
    assert response.status_code == 201, response.get_json()
    data = response.get_json()["data"]
    assert data["title"] == "The Matrix" and data["year"] == 1999 and data["status"] == "pending"
    assert data["user_id"] == alice.id and data["made_as_admin"] is False

    (posted,) = sent(overseerr, "POST", "/request")
    assert posted.headers["X-Api-User"] == str(ALICE_OVERSEERR)
    assert posted.headers["X-Api-Key"] == "testkey"
    (made,) = overseerr.media_requests.values()
    assert made.requested_by == ALICE_OVERSEERR and made.id == data["overseerr_id"]

    row = record(app, data["id"])
    assert (row.media_type, row.tmdb_id, row.overseerr_id, row.status) == ("movie", 603, made.id, "pending")
    assert (
        "media.request.created",
        {
            "user_id": alice.id,
            "request_id": data["id"],
            "title": "The Matrix",
            "media_type": "movie",
            "status": "pending",
        },
    ) in bus

    listed = user_client.get("/api/v1/media/requests").get_json()
    assert [r["id"] for r in listed["data"]] == [data["id"]]
    assert listed["meta"]["pagination"]["total"] == 1
    assert user_client.get(f"/api/v1/media/requests/{data['id']}").get_json()["data"]["status"] == "pending"


def test_series_request_with_two_seasons(user_client, overseerr):
    response = user_client.post("/api/v1/media/requests", json={"media_type": "tv", "tmdb_id": 1399, "seasons": [1, 2]})
    assert response.status_code == 201, response.get_json()
    data = response.get_json()["data"]
    assert data["seasons"] == [1, 2] and data["all_seasons"] is False and data["title"] == "Game of Thrones"
    (made,) = overseerr.media_requests.values()
    assert [s.season_number for s in made.seasons] == [1, 2]

    # The same seasons again: Overseerr answers 202 "No seasons available to request".
    again = user_client.post("/api/v1/media/requests", json={"media_type": "tv", "tmdb_id": 1399, "seasons": [2, 1]})
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "MEDIA_ALREADY_REQUESTED"
    assert "already requested" in again.get_json()["error"]["message"]


def test_series_request_of_all_seasons(user_client, overseerr):
    response = user_client.post("/api/v1/media/requests", json={"media_type": "tv", "tmdb_id": 1399, "seasons": "all"})
    assert response.status_code == 201
    assert response.get_json()["data"]["all_seasons"] is True
    (made,) = overseerr.media_requests.values()
    assert [s.season_number for s in made.seasons] == list(range(1, 9))


def test_unknown_season_is_refused_before_requesting(user_client, overseerr):
    response = user_client.post(
        "/api/v1/media/requests", json={"media_type": "tv", "tmdb_id": 1399, "seasons": [1, 12]}
    )
    assert response.status_code == 400
    assert "no season 12" in response.get_json()["error"]["message"]
    assert sent(overseerr, "POST", "/request") == []


def test_duplicate_film_is_a_clear_409(user_client, other_client, overseerr):
    assert user_client.post("/api/v1/media/requests", json={"media_type": "movie", "tmdb_id": 603}).status_code == 201
    response = other_client.post("/api/v1/media/requests", json={"media_type": "movie", "tmdb_id": 603})
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "MEDIA_ALREADY_REQUESTED"
    assert error["message"] == "The Matrix: This title has already been requested."


def test_quota_is_a_clear_403(user_client, overseerr):
    overseerr.set_quota_exceeded(ALICE_OVERSEERR, media_type="movie")
    response = user_client.post("/api/v1/media/requests", json={"media_type": "movie", "tmdb_id": 603})
    assert response.status_code == 403
    error = response.get_json()["error"]
    assert error["code"] == "MEDIA_REQUEST_REFUSED" and "Movie Quota exceeded." in error["message"]


def test_user_without_request_permission_gets_overseerrs_reason(user_client, overseerr):
    overseerr.users[ALICE_OVERSEERR].permissions = int(Permission.NONE)
    response = user_client.post("/api/v1/media/requests", json={"media_type": "movie", "tmdb_id": 603})
    assert response.status_code == 403
    assert "permission to make movie requests" in response.get_json()["error"]["message"]


def test_unmatched_user_is_told_and_nothing_is_requested(admin_client, overseerr):
    # The local admin has no Plex id, so no Overseerr user matches.
    response = admin_client.post("/api/v1/media/requests", json={"media_type": "movie", "tmdb_id": 603})
    assert response.status_code == 403
    error = response.get_json()["error"]
    assert error["code"] == "MEDIA_USER_UNMATCHED" and "Sign in to Overseerr" in error["message"]
    assert sent(overseerr, "POST", "/request") == []
    results = admin_client.get("/api/v1/media/search?query=matrix").get_json()["data"]
    assert results[0]["requestable"] is False and results[0]["action"] == "Link your Overseerr account first"


def test_unmatched_user_falls_back_to_the_admin_account_when_allowed(app, admin_client, overseerr):
    configure(app, overseerr.url, fallback_to_admin="admin")
    results = admin_client.get("/api/v1/media/search?query=matrix").get_json()["data"]
    assert results[0]["action"] == "Request film (approved automatically)"
    response = admin_client.post("/api/v1/media/requests", json={"media_type": "movie", "tmdb_id": 603})
    assert response.status_code == 201
    data = response.get_json()["data"]
    assert data["made_as_admin"] is True and data["status"] == "approved"
    (posted,) = sent(overseerr, "POST", "/request")
    assert "X-Api-User" not in posted.headers


@pytest.mark.sqlite_only  # input validation: the database engine plays no part
def test_bad_request_body_is_400_and_nothing_reaches_overseerr(user_client, overseerr):
    bodies = [
        {"media_type": "music", "tmdb_id": 603},
        {"media_type": "tv", "tmdb_id": 1399, "seasons": [-1]},
        {"media_type": "tv", "tmdb_id": 1399, "seasons": [1, 1]},
        {"media_type": "tv", "tmdb_id": 1399, "seasons": []},
        {"media_type": "tv", "tmdb_id": 1399, "seasons": "some"},
        {"media_type": "movie", "tmdb_id": 603, "seasons": [1]},
        {"media_type": "movie", "tmdb_id": 603, "seasons": "all"},
        {"media_type": "movie", "tmdb_id": -5},
        {"media_type": "movie"},
        {"media_type": "movie", "tmdb_id": 603, "extra": 1},
    ]
    for body in bodies:
        response = user_client.post("/api/v1/media/requests", json=body)
        assert response.status_code == 400, body
        error = response.get_json()["error"]
        assert error["code"] == "VALIDATION_ERROR" and error["details"]["fields"], body
    not_json = user_client.post("/api/v1/media/requests", data="{", content_type="application/json")
    assert not_json.status_code == 400 and not_json.get_json()["error"]["code"] == "INVALID_JSON"
    assert overseerr.requests == []


def test_overseerr_down_is_a_503_with_the_service_named(app, user_client, standin):
    from tests.standins.base import closed_port

    configure(app, f"http://127.0.0.1:{closed_port()}")
    response = user_client.post("/api/v1/media/requests", json={"media_type": "movie", "tmdb_id": 603})
    assert response.status_code == 503
    assert response.get_json()["error"]["details"]["service"] == "overseerr"


@pytest.mark.sqlite_only
def test_not_configured_says_so(user_client):
    response = user_client.get("/api/v1/media/search?query=matrix")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "NOT_CONFIGURED"


# ------------------------------------------------------------------ ownership
def test_users_see_only_their_own_requests_and_admins_may_filter(
    app, user_client, other_client, admin_client, alice, bob, overseerr
):
    mine = user_client.post("/api/v1/media/requests", json={"media_type": "movie", "tmdb_id": 603}).get_json()["data"]
    theirs = other_client.post("/api/v1/media/requests", json={"media_type": "movie", "tmdb_id": 604}).get_json()[
        "data"
    ]

    assert [r["id"] for r in user_client.get("/api/v1/media/requests").get_json()["data"]] == [mine["id"]]
    assert [r["id"] for r in other_client.get("/api/v1/media/requests").get_json()["data"]] == [theirs["id"]]
    assert other_client.get(f"/api/v1/media/requests/{mine['id']}").status_code == 404
    forbidden = other_client.get(f"/api/v1/media/requests?user_id={alice.id}")
    assert forbidden.status_code == 403 and forbidden.get_json()["error"]["code"] == "FORBIDDEN"
    assert other_client.get("/api/v1/media/requests?everyone=true").status_code == 403

    assert admin_client.get("/api/v1/media/requests").get_json()["data"] == []  # the admin's own
    filtered = admin_client.get(f"/api/v1/media/requests?user_id={alice.id}").get_json()["data"]
    assert [r["id"] for r in filtered] == [mine["id"]]
    everyone = admin_client.get("/api/v1/media/requests?everyone=true").get_json()["data"]
    assert {r["id"] for r in everyone} == {mine["id"], theirs["id"]}
    assert admin_client.get(f"/api/v1/media/requests/{theirs['id']}").status_code == 200

    page = other_client.get("/media/requests").get_data(as_text=True)
    assert "The Matrix Reloaded" in page and "The Matrix (" not in page


# ------------------------------------------------------------------ rate limit
@pytest.mark.env(MEDIANEST_RATE_LIMIT_MEDIA_REQUESTS="2/hour")
def test_only_requests_made_count_and_the_third_in_the_hour_is_429(app, user_client, overseerr):
    # Input refused by validation costs nothing, nor does a request Overseerr refuses.
    for _ in range(3):
        assert user_client.post("/api/v1/media/requests", json={"media_type": "music", "tmdb_id": 1}).status_code == 400
    statuses = [
        user_client.post("/api/v1/media/requests", json={"media_type": "movie", "tmdb_id": 603}).status_code
        for _ in range(5)
    ]
    assert statuses == [201] + [409] * 4
    assert user_client.post("/api/v1/media/requests", json={"media_type": "movie", "tmdb_id": 604}).status_code == 201
    response = user_client.post("/api/v1/media/requests", json={"media_type": "movie", "tmdb_id": 605})
    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "RATE_LIMITED"
    wait = int(response.headers["Retry-After"])
    assert 3500 < wait <= 3601 and f"Try again in {wait} s" in response.get_json()["error"]["message"]
    assert len(sent(overseerr, "POST", "/request")) == 6
    # The page's request button shares the same budget.
    form = user_client.post("/media/requests", data={"media_type": "movie", "tmdb_id": "605"})
    assert form.status_code == 429


@pytest.mark.env(MEDIANEST_RATE_LIMIT_MEDIA_REQUESTS="1/hour")
def test_admins_pass_the_media_request_limit(app, alice, user_client, overseerr):

    with app.app_context():
        db.session.get(User, alice.id).role = "admin"
        db.session.commit()
    for tmdb_id in (603, 604):
        assert (
            user_client.post("/api/v1/media/requests", json={"media_type": "movie", "tmdb_id": tmdb_id}).status_code
            == 201
        )


@pytest.mark.env(MEDIANEST_RATE_LIMIT_MEDIA_REQUESTS="2/hour")
@pytest.mark.settings(redis_url="use-test-redis")
def test_rate_limit_holds_with_redis_storage(user_client, other_client, overseerr):
    for tmdb_id in (603, 604):
        assert (
            user_client.post("/api/v1/media/requests", json={"media_type": "movie", "tmdb_id": tmdb_id}).status_code
            == 201
        )
    assert user_client.post("/api/v1/media/requests", json={"media_type": "movie", "tmdb_id": 605}).status_code == 429
    # Per user: bob still has his budget.
    assert other_client.post("/api/v1/media/requests", json={"media_type": "movie", "tmdb_id": 605}).status_code == 201


# ------------------------------------------------------------------ reconcile
def test_reconcile_follows_overseerr_without_webhooks(app, user_client, alice, overseerr, bus):

    film = user_client.post("/api/v1/media/requests", json={"media_type": "movie", "tmdb_id": 603}).get_json()["data"]
    series = user_client.post(
        "/api/v1/media/requests", json={"media_type": "tv", "tmdb_id": 1399, "seasons": [1]}
    ).get_json()["data"]
    overseerr.set_request_status(film["overseerr_id"], "APPROVED")
    overseerr.set_media_status(603, "movie", "AVAILABLE")
    with overseerr.lock:
        del overseerr.media_requests[series["overseerr_id"]]

    with app.app_context():
        assert reconcile() == {"checked": 2, "changed": 2}
    assert record(app, film["id"]).status == "available"
    assert record(app, series["id"]).status == "removed"
    assert (
        "notification",
        {
            "user_id": alice.id,
            "level": "success",
            "message": "The Matrix is now available.",
            "link": "/media/requests",
            "kind": "request.available",
        },
    ) in bus
    assert len(sent(overseerr, "GET", f"/request/{film['overseerr_id']}")) == 1

    with app.app_context():  # nothing open is left; the film is asked about only for its Plex link
        assert reconcile() == {"checked": 1, "changed": 0}
    assert len(sent(overseerr, "GET", f"/request/{film['overseerr_id']}")) == 2
    assert len(sent(overseerr, "GET", f"/request/{series['overseerr_id']}")) == 1


def test_an_available_request_links_to_plex_once_overseerr_has_the_title(app, user_client, alice, overseerr, bus):

    film = user_client.post("/api/v1/media/requests", json={"media_type": "movie", "tmdb_id": 603}).get_json()["data"]
    overseerr.set_request_status(film["overseerr_id"], "APPROVED")
    overseerr.set_media_status(603, "movie", "AVAILABLE")  # available, Plex's key not known to Overseerr yet
    with app.app_context():
        assert reconcile() == {"checked": 1, "changed": 1}
    assert record(app, film["id"]).status == "available" and record(app, film["id"]).plex_url is None
    mine = user_client.get("/api/v1/me/media").get_json()["data"]
    assert [(i["title"], i["state"], i["plex_url"]) for i in mine] == [("The Matrix (1999)", "ready", None)]

    # Overseerr links the title once Plex has it; the reconcile keeps asking until then.
    overseerr.set_media_status(603, "movie", "AVAILABLE", rating_key="4242")
    bus.clear()
    with app.app_context():
        assert reconcile() == {"checked": 1, "changed": 1}
    link = f"https://app.plex.tv/desktop#!/server/{PLEX_MACHINE_ID}/details?key=%2Flibrary%2Fmetadata%2F4242"
    assert record(app, film["id"]).plex_url == link
    assert [name for name, _ in bus] == ["media.request.updated"]  # "My media" refreshes; no second notice
    assert user_client.get("/api/v1/me/media").get_json()["data"][0]["plex_url"] == link
    assert user_client.get(f"/api/v1/media/requests/{film['id']}").get_json()["data"]["plex_url"] == link
    html = user_client.get("/me/media").get_data(as_text=True)
    assert f'href="{link.replace("&", "&amp;")}"' in html and "Open in Plex" in html
    with app.app_context():  # linked and available: nothing more to ask
        assert reconcile() == {"checked": 0, "changed": 0}


def test_an_unsafe_or_late_plex_link_is_never_shown(app, user_client, overseerr):

    film = user_client.post("/api/v1/media/requests", json={"media_type": "movie", "tmdb_id": 603}).get_json()["data"]
    overseerr.set_request_status(film["overseerr_id"], "APPROVED")
    overseerr.set_media_status(603, "movie", "AVAILABLE", plex_url="javascript:alert(document.cookie)")
    with app.app_context():
        reconcile()
    assert record(app, film["id"]).status == "available" and record(app, film["id"]).plex_url is None
    assert user_client.get("/api/v1/me/media").get_json()["data"][0]["plex_url"] is None
    assert "javascript:" not in user_client.get("/me/media").get_data(as_text=True)

    # Available for longer than the window without a link: no longer asked about.
    overseerr.set_media_status(603, "movie", "AVAILABLE", rating_key="7")
    with app.app_context():
        db.session.get(MediaRequest, film["id"]).updated_at = utcnow() - timedelta(days=2)
        db.session.commit()
        assert reconcile() == {"checked": 0, "changed": 0}
    assert record(app, film["id"]).plex_url is None


@pytest.mark.parametrize(
    "value",
    [
        None,
        42,
        "",
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,<b>x</b>",
        "//evil.example/web",
        "/web/index.html#!/server/x",
        "ftp://plex.example/x",
        "https://",
        "https://plex example/web",
        "https://plex.example/web\n",
        "https://plex.example/" + "x" * 1000,
    ],
)
def test_only_an_http_plex_link_is_kept(value):

    assert plex_url_of({"plexUrl": value}) is None
    assert plex_url_of({"plexUrl4k": value}, is4k=True) is None


def test_an_http_plex_link_is_kept_as_sent():

    link = "https://app.plex.tv/desktop#!/server/abc/details?key=%2Flibrary%2Fmetadata%2F1"
    assert plex_url_of({"plexUrl": link}) == link
    assert plex_url_of({"plexUrl": "HTTP://192.168.1.20:32400/web/index.html#!/x"}).startswith("HTTP://")
    assert plex_url_of({"plexUrl": link, "plexUrl4k": None}, is4k=True) is None
    assert plex_url_of(None) is None


@pytest.mark.sqlite_only
def test_reconcile_task_is_scheduled(app):
    schedule = app.extensions["celery"].conf.beat_schedule
    assert schedule["overseerr.reconcile"]["task"] == "overseerr.reconcile"


# ------------------------------------------------------------------ settings, health, card
@pytest.mark.sqlite_only
def test_connection_test_says_which_call_failed(app, standin):

    from tests.standins.base import closed_port

    with app.app_context():
        good = overseerr_connection_test({"url": standin.url, "api_key": "testkey"})
        assert good.ok and "develop-local" in good.message and "admin" in good.message
        reset_clients()
        bad_key = overseerr_connection_test({"url": standin.url, "api_key": "wrong"})
        assert not bad_key.ok and "GET /api/v1/auth/me failed" in bad_key.message
        down = overseerr_connection_test({"url": f"http://127.0.0.1:{closed_port()}", "api_key": "testkey"})
        assert not down.ok and "GET /api/v1/status failed" in down.message
        assert not overseerr_connection_test({"url": "ftp://x", "api_key": "k"}).ok
    assert [r.path for r in standin.requests] == ["/api/v1/status", "/api/v1/auth/me"] * 2


def test_settings_form_and_webhook_instructions(app, admin_client, user_client):

    with app.test_request_context("/", base_url="http://nest.example:5000"):
        definition = service_definitions()["overseerr"]
        assert {f.name for f in definition.fields if f.secret} == {"api_key", "webhook_secret"}
        assert [f.name for f in definition.fields] == [
            "url",
            "api_key",
            "webhook_secret",
            "fallback_to_admin",
            "poster_url",
        ]
        generated = service_config("overseerr")["webhook_secret"]
        assert len(generated) >= 32  # generated at start-up
        instructions = definition.description()  # drawn with the admin page, not on every settings read
        assert "http://nest.example:5000/api/v1/media/webhook" in instructions
        assert generated not in instructions  # revealed only on the webhook page below
    page = admin_client.get("/media/admin/webhook").get_data(as_text=True)
    assert f"Bearer {generated}" in page and "/api/v1/media/webhook" in page
    assert user_client.get("/media/admin/webhook").status_code == 403


@pytest.mark.sqlite_only
def test_settings_come_from_the_environment(app, monkeypatch, user_client, standin):
    monkeypatch.setenv("MEDIANEST_OVERSEERR_URL", standin.url)
    monkeypatch.setenv("MEDIANEST_OVERSEERR_API_KEY", "testkey")
    response = user_client.get("/api/v1/media/search?query=thrones")
    assert response.status_code == 200 and response.get_json()["data"][0]["title"] == "Game of Thrones"


def test_health_check_records_reachability_and_pending_count(app, admin_client, overseerr):

    overseerr.add_request("movie", 603, user_id=ALICE_OVERSEERR)
    with app.app_context():
        results = run_checks()
        assert results["overseerr"].status == "online"
        row = db.session.get(ServiceStatus, "overseerr")
        assert row.status == "online" and row.details["pending"] == 1
    card = admin_client.get("/dashboard/cards/overseerr").get_data(as_text=True)
    assert "Overseerr reachable" in card and "1 pending approval" in card


def test_pages_say_overseerr_is_offline_instead_of_failing_on_click(app, user_client, overseerr):

    with app.app_context():
        db.session.add(ServiceStatus(service="overseerr", status="offline", checked_at=utcnow(), error="refused"))
        db.session.commit()
    page = user_client.get("/media/?query=matrix").get_data(as_text=True)
    assert "Overseerr is offline right now" in page
    assert '<button type="button" disabled>Overseerr is offline</button>' in page
    assert 'name="tmdb_id"' not in page  # no request form to click
    card = user_client.get("/dashboard/cards/overseerr").get_data(as_text=True)
    assert "Overseerr offline" in card


# ------------------------------------------------------------------ pages
def test_search_page_serves_the_fragment_to_htmx(user_client, overseerr):
    full = user_client.get("/media/?query=matrix")
    assert full.status_code == 200 and "HX-Request" in full.headers["Vary"]
    html = full.get_data(as_text=True)
    assert "<html" in html and 'hx-trigger="input changed delay:400ms, search"' in html and "The Matrix" in html
    fragment = user_client.get("/media/?query=matrix", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and fragment.lstrip().startswith('<div id="search-results"')
    assert "Request film (waits for approval)" in fragment


def test_request_from_the_page_without_javascript(app, user_client, overseerr):
    seasons = user_client.get("/media/tv/1399").get_data(as_text=True)
    assert 'name="season" value="1"' in seasons and "Season 8" in seasons and "Specials" not in seasons
    response = user_client.post(
        "/media/requests", data={"media_type": "tv", "tmdb_id": "1399", "season": ["1", "2"], "chosen": "1"}
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/media/requests")
    page = user_client.get("/media/requests").get_data(as_text=True)
    assert "Game of Thrones" in page and "Seasons 1, 2" in page and "Pending approval" in page
    assert 'hx-trigger="media.request.created from:body, media.request.updated from:body"' in page


def test_request_from_the_page_with_htmx_shows_the_answer_in_place(user_client, overseerr):
    headers = {"HX-Request": "true"}
    ok = user_client.post("/media/requests", data={"media_type": "movie", "tmdb_id": "603"}, headers=headers)
    assert ok.status_code == 200 and "Requested The Matrix: pending approval." in ok.get_data(as_text=True)
    duplicate = user_client.post("/media/requests", data={"media_type": "movie", "tmdb_id": "603"}, headers=headers)
    assert 'data-code="MEDIA_ALREADY_REQUESTED"' in duplicate.get_data(as_text=True)
    empty = user_client.post(
        "/media/requests", data={"media_type": "tv", "tmdb_id": "1399", "chosen": "1"}, headers=headers
    )
    assert "choose at least one season" in empty.get_data(as_text=True)
    assert len(sent(overseerr, "POST", "/request")) == 2


def test_dashboard_card_lists_the_users_latest_requests(user_client, overseerr):
    user_client.post("/api/v1/media/requests", json={"media_type": "movie", "tmdb_id": 603})
    card = user_client.get("/dashboard/cards/overseerr").get_data(as_text=True)
    assert "The Matrix" in card and "Pending approval" in card and "pending approval</span>" not in card


@pytest.mark.sqlite_only
def test_routes_are_documented(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"get"} <= set(paths["/api/v1/media/search"])
    assert {"get", "post"} <= set(paths["/api/v1/media/requests"])
    assert paths["/api/v1/media/webhook"]["post"]["security"] == []
    assert (
        "MEDIA_ALREADY_REQUESTED"
        in client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["ErrorEnvelope"]["properties"][
            "error"
        ]["properties"]["code"]["enum"]
    )


@pytest.mark.sqlite_only
def test_a_failing_answer_is_logged_not_shown(user_client, overseerr, caplog):
    overseerr.stop()
    with caplog.at_level(logging.WARNING):
        page = user_client.get("/media/?query=matrix").get_data(as_text=True)
    assert "overseerr refused the connection" in page.lower() or "not answering" in page.lower()
    assert "Traceback" not in page
    overseerr.start()
