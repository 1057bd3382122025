"""Tests of the Overseerr stand-in against the captured contract files.

Where a real Overseerr answer was captured (``real-responses/``, ``webhooks/``)
the stand-in must give the same body (or, where ids and timestamps differ,
the same shape); everything it answers must validate against MediaNest's own
description of the API (``tests/contracts/overseerr/overseerr-subset.yml``).
The checks against the vendor's own document are in test_vendor_contracts.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests

from tests.standins.overseerr import (
    CONTRACTS_DIR,
    DOCUMENTED_NULL_FIELDS,
    OverseerrStandin,
    Permission,
)

CAPTURED = CONTRACTS_DIR / "overseerr" / "real-responses"
WEBHOOKS = CONTRACTS_DIR / "overseerr" / "webhooks"
KEY = {"X-Api-Key": "testkey"}
AS_FRIEND = {**KEY, "X-API-User": "2"}  # seeded user 2 "friend" may request, not approve
TIMEOUT = 5


def captured(name: str) -> Any:
    return json.loads((CAPTURED / name).read_text())


def shape(value: Any) -> Any:
    """Keys and value kinds, recursively: what must match when ids/dates differ."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return type(value).__name__
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def webhook_examples(name: str) -> list[dict[str, Any]]:
    """The JSON objects of a webhook_examples_*.txt file (concatenated, plus 'skip' notes)."""
    text = (WEBHOOKS / name).read_text()
    decoder = json.JSONDecoder()
    examples, position = [], 0
    while True:
        start = text.find("{", position)
        if start < 0:
            return examples
        example, position = decoder.raw_decode(text, start)
        examples.append(example)


@pytest.fixture
def overseerr() -> Iterator[OverseerrStandin]:
    standin = OverseerrStandin(api_key="testkey")
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture
def api(overseerr: OverseerrStandin) -> str:
    return overseerr.api_url


# ---------------------------------------------------------------- authentication


def test_no_key_is_401_with_the_captured_body(api: str) -> None:
    me = requests.get(f"{api}/auth/me", timeout=TIMEOUT)
    listing = requests.get(f"{api}/request", timeout=TIMEOUT)
    assert (me.status_code, me.json()) == (401, captured("auth_me_nokey.json"))
    assert (listing.status_code, listing.json()) == (401, captured("request_list_nokey.json"))


def test_wrong_key_is_403_with_the_captured_body(api: str) -> None:
    me = requests.get(f"{api}/auth/me", headers={"X-Api-Key": "wrong"}, timeout=TIMEOUT)
    listing = requests.get(f"{api}/request", headers={"X-Api-Key": "wrong"}, timeout=TIMEOUT)
    assert (me.status_code, me.json()) == (403, captured("auth_me_badkey.json"))
    assert (listing.status_code, listing.json()) == (403, captured("request_list_badkey.json"))


def test_status_needs_no_key(api: str) -> None:
    answer = requests.get(f"{api}/status", timeout=TIMEOUT)
    assert (answer.status_code, answer.json()) == (200, captured("status.json"))


def test_x_api_user_naming_nobody_is_403(api: str) -> None:
    answer = requests.get(f"{api}/auth/me", headers={**KEY, "X-API-User": "99"}, timeout=TIMEOUT)
    assert (answer.status_code, answer.json()) == (403, captured("auth_me_badkey.json"))


def test_x_api_user_acts_as_that_user(api: str) -> None:
    answer = requests.get(f"{api}/auth/me", headers=AS_FRIEND, timeout=TIMEOUT)
    assert answer.json()["username"] == "friend"


# ---------------------------------------------------------------- captured bodies


@pytest.mark.parametrize(
    ("path", "capture"),
    [
        ("/auth/me", "auth_me.json"),
        ("/user", "user_list.json"),
        ("/settings/main", "settings_main.json"),
        ("/request", "request_list.json"),
        ("/request/count", "request_count.json"),
    ],
)
def test_fresh_state_answers_as_captured(api: str, path: str, capture: str) -> None:
    answer = requests.get(f"{api}{path}", headers=KEY, timeout=TIMEOUT)
    assert (answer.status_code, answer.json()) == (200, captured(capture))


def test_missing_request_is_404_as_captured(api: str) -> None:
    answer = requests.get(f"{api}/request/1", headers=KEY, timeout=TIMEOUT)
    assert (answer.status_code, answer.json()) == (404, captured("request_1.json"))


def test_invalid_body_and_query_are_400_as_captured(api: str) -> None:
    bad_enum = requests.post(f"{api}/request", headers=KEY, json={"mediaType": "book", "mediaId": 603}, timeout=TIMEOUT)
    no_id = requests.post(f"{api}/request", headers=KEY, json={"mediaType": "movie"}, timeout=TIMEOUT)
    bad_filter = requests.get(f"{api}/request", headers=KEY, params={"filter": "bogus"}, timeout=TIMEOUT)
    no_query = requests.get(f"{api}/search", headers=KEY, timeout=TIMEOUT)
    assert (bad_enum.status_code, bad_enum.json()) == (400, captured("request_post_badenum.json"))
    assert (no_id.status_code, no_id.json()) == (400, captured("request_post_missing_mediaId.json"))
    assert (bad_filter.status_code, bad_filter.json()) == (400, captured("request_list_badfilter.json"))
    assert (no_query.status_code, no_query.json()) == (400, captured("search_missing_query.json"))


def test_seeded_requests_have_the_captured_shape(overseerr: OverseerrStandin, api: str) -> None:
    # The state the captures were taken in: friend asked for The Matrix (pending)
    # and for two seasons of Game of Thrones (approved by the admin).
    overseerr.add_request("movie", 603, user_id=2)
    overseerr.add_request("tv", 1399, user_id=2, status="APPROVED", seasons=[1, 2], modified_by=1)

    listing = requests.get(f"{api}/request", headers=KEY, timeout=TIMEOUT).json()
    pending = requests.get(f"{api}/request", headers=KEY, params={"filter": "pending"}, timeout=TIMEOUT).json()
    count = requests.get(f"{api}/request/count", headers=KEY, timeout=TIMEOUT).json()
    movie_request = [r for r in listing["results"] if r["type"] == "movie"][0]
    single = requests.get(f"{api}/request/{movie_request['id']}", headers=KEY, timeout=TIMEOUT).json()
    approved = requests.post(f"{api}/request/{movie_request['id']}/approve", headers=KEY, timeout=TIMEOUT).json()

    assert shape(listing) == shape(captured("request_list_seeded.json"))
    assert shape(pending) == shape(captured("request_list_pending.json"))
    assert shape(single) == shape(captured("request_1_seeded.json"))
    assert shape(approved) == shape(captured("request_1_approve.json"))
    assert count == captured("request_count_seeded.json")
    assert listing["pageInfo"] == captured("request_list_seeded.json")["pageInfo"]
    for request_object in (single, approved, *listing["results"]):
        assert all(request_object[name] is None for name in DOCUMENTED_NULL_FIELDS)


# ---------------------------------------------------------------- search


def test_search_rejects_plus_for_space_and_accepts_percent20(overseerr: OverseerrStandin, api: str) -> None:
    with_plus = requests.get(f"{api}/search", headers=KEY, params={"query": "The Matrix"}, timeout=TIMEOUT)
    with_percent = requests.get(
        f"{api}/search?query={quote('The Matrix')}&page=1&language=en", headers=KEY, timeout=TIMEOUT
    )

    assert "query=The+Matrix" in with_plus.url
    assert with_plus.status_code == 400
    assert with_plus.json()["errors"][0]["path"] == ".query.query"
    assert "must be url encoded" in with_plus.json()["message"]
    assert with_percent.status_code == 200
    assert [r["id"] for r in with_percent.json()["results"]][0] == 603
    flagged = overseerr.validate_requests()
    assert len(flagged) == 1 and "query=The+Matrix" in flagged[0]


def test_search_results_carry_media_info_once_requested(overseerr: OverseerrStandin, api: str) -> None:
    before = requests.get(f"{api}/search?query=matrix", headers=KEY, timeout=TIMEOUT).json()
    overseerr.add_request("movie", 603, user_id=2)
    after = requests.get(f"{api}/search?query=matrix", headers=KEY, timeout=TIMEOUT).json()

    matrix = next(r for r in before["results"] if r["id"] == 603)
    assert matrix["mediaType"] == "movie"
    assert matrix["title"] == "The Matrix"
    assert matrix["posterPath"] == "/f89U3ADr1oiB1s9GkdPOEpXUk5H.jpg"
    assert matrix["releaseDate"].startswith("1999")
    assert matrix["overview"].startswith("Set in the 22nd century")
    assert "mediaInfo" not in matrix
    assert next(r for r in after["results"] if r["id"] == 603)["mediaInfo"]["status"] == 2
    assert before["totalResults"] == 3


def test_series_search_and_details_give_the_season_count(api: str) -> None:
    found = requests.get(f"{api}/search?query=thrones", headers=KEY, timeout=TIMEOUT).json()["results"]
    details = requests.get(f"{api}/tv/1399", headers=KEY, timeout=TIMEOUT).json()

    assert found[0]["mediaType"] == "tv" and found[0]["id"] == 1399 and found[0]["firstAirDate"] == "2011-04-17"
    assert details["numberOfSeasons"] == 8
    assert [s["seasonNumber"] for s in details["seasons"]] == list(range(0, 9))  # season 0 = specials


# ---------------------------------------------------------------- requests


def test_request_list_approve_and_availability_flow(overseerr: OverseerrStandin, api: str) -> None:
    created = requests.post(
        f"{api}/request", headers=AS_FRIEND, json={"mediaType": "movie", "mediaId": 603}, timeout=TIMEOUT
    )
    assert created.status_code == 201
    request_object = created.json()
    request_id = request_object["id"]
    assert request_object["status"] == 1
    assert request_object["requestedBy"]["id"] == 2
    assert request_object["media"]["tmdbId"] == 603 and request_object["media"]["status"] == 2
    assert all(request_object[name] is None for name in DOCUMENTED_NULL_FIELDS)

    pending = requests.get(
        f"{api}/request", headers=KEY, params={"filter": "pending", "take": 10, "skip": 0}, timeout=TIMEOUT
    ).json()
    assert pending["pageInfo"] == {"pages": 1, "pageSize": 10, "results": 1, "page": 1}
    assert [r["id"] for r in pending["results"]] == [request_id]

    friend_cannot_approve = requests.post(f"{api}/request/{request_id}/approve", headers=AS_FRIEND, timeout=TIMEOUT)
    assert friend_cannot_approve.status_code == 403

    approved = requests.post(f"{api}/request/{request_id}/approve", headers=KEY, timeout=TIMEOUT).json()
    assert approved["status"] == 2 and approved["modifiedBy"]["id"] == 1
    assert approved["media"]["status"] == 2  # as captured: the answer predates the media update
    assert requests.get(f"{api}/request/{request_id}", headers=KEY, timeout=TIMEOUT).json()["media"]["status"] == 3

    overseerr.set_media_status(603, "movie", "AVAILABLE")
    available = requests.get(f"{api}/request", headers=KEY, params={"filter": "available"}, timeout=TIMEOUT).json()
    assert [r["id"] for r in available["results"]] == [request_id]
    count = requests.get(f"{api}/request/count", headers=KEY, timeout=TIMEOUT).json()
    assert (count["approved"], count["available"], count["processing"]) == (1, 1, 0)
    assert overseerr.notifications == [("MEDIA_PENDING", request_id), ("MEDIA_APPROVED", request_id)]

    overseerr.set_request_status(request_id, "DECLINED")
    assert requests.get(f"{api}/request/{request_id}", headers=KEY, timeout=TIMEOUT).json()["status"] == 3


def test_admin_requests_are_auto_approved(api: str) -> None:
    created = requests.post(
        f"{api}/request", headers=KEY, json={"mediaType": "tv", "mediaId": 1399, "seasons": "all"}, timeout=TIMEOUT
    ).json()
    assert created["status"] == 2
    assert [s["seasonNumber"] for s in created["seasons"]] == list(range(1, 9))


def test_friend_only_sees_own_requests(overseerr: OverseerrStandin, api: str) -> None:
    overseerr.add_request("movie", 604, user_id=1)
    mine = overseerr.add_request("movie", 603, user_id=2)
    as_friend = requests.get(f"{api}/request", headers=AS_FRIEND, timeout=TIMEOUT).json()
    assert [r["id"] for r in as_friend["results"]] == [mine]


def test_decline_resets_movie_media_status(api: str) -> None:
    created = requests.post(
        f"{api}/request", headers=AS_FRIEND, json={"mediaType": "movie", "mediaId": 605}, timeout=TIMEOUT
    ).json()
    declined = requests.post(f"{api}/request/{created['id']}/decline", headers=KEY, timeout=TIMEOUT).json()
    after = requests.get(f"{api}/movie/605", headers=KEY, timeout=TIMEOUT).json()
    assert declined["status"] == 3
    assert after["mediaInfo"]["status"] == 1


def test_duplicate_movie_request_is_409(api: str) -> None:
    body = {"mediaType": "movie", "mediaId": 603, "is4k": False}
    first = requests.post(f"{api}/request", headers=AS_FRIEND, json=body, timeout=TIMEOUT)
    second = requests.post(f"{api}/request", headers=KEY, json=body, timeout=TIMEOUT)
    assert first.status_code == 201
    assert (second.status_code, second.json()) == (409, {"message": "Request for this media already exists."})


def test_without_is4k_overseerr_skips_its_duplicate_check(api: str) -> None:
    """As a real Overseerr 1.34 does: earlier requests are looked up by ``is4k``, so none match a body without it."""
    film = {"mediaType": "movie", "mediaId": 603}
    series = {"mediaType": "tv", "mediaId": 1399, "seasons": [1]}
    for body in (film, series):
        first = requests.post(f"{api}/request", headers=AS_FRIEND, json=body, timeout=TIMEOUT)
        again = requests.post(f"{api}/request", headers=AS_FRIEND, json=body, timeout=TIMEOUT)
        assert (first.status_code, again.status_code) == (201, 201), again.text


def test_series_with_every_season_requested_is_202(api: str) -> None:
    body = {"mediaType": "tv", "mediaId": 1399, "seasons": [1, 2], "is4k": False}
    first = requests.post(f"{api}/request", headers=AS_FRIEND, json=body, timeout=TIMEOUT)
    again = requests.post(f"{api}/request", headers=AS_FRIEND, json=body, timeout=TIMEOUT)
    more = requests.post(f"{api}/request", headers=AS_FRIEND, json={**body, "seasons": [2, 3]}, timeout=TIMEOUT)
    assert first.status_code == 201
    assert (again.status_code, again.json()) == (202, {"message": "No seasons available to request"})
    assert [s["seasonNumber"] for s in more.json()["seasons"]] == [3]


def test_quota_exceeded_is_403(overseerr: OverseerrStandin, api: str) -> None:
    alice = overseerr.add_user("alice", plex_id=4242)
    overseerr.set_quota_exceeded(alice, True)
    as_alice = {**KEY, "X-API-User": str(alice)}
    movie = requests.post(
        f"{api}/request", headers=as_alice, json={"mediaType": "movie", "mediaId": 603}, timeout=TIMEOUT
    )
    series = requests.post(
        f"{api}/request", headers=as_alice, json={"mediaType": "tv", "mediaId": 1399, "seasons": [1]}, timeout=TIMEOUT
    )
    assert (movie.status_code, movie.json()) == (403, {"message": "Movie Quota exceeded."})
    assert (series.status_code, series.json()) == (403, {"message": "Series Quota exceeded."})

    overseerr.set_quota_exceeded(alice, False)
    allowed = requests.post(
        f"{api}/request", headers=as_alice, json={"mediaType": "movie", "mediaId": 603}, timeout=TIMEOUT
    )
    assert allowed.status_code == 201


def test_added_users_are_listed_with_their_plex_id(overseerr: OverseerrStandin, api: str) -> None:
    bob = overseerr.add_user("bob", plex_id=777, permissions=Permission.REQUEST | Permission.AUTO_APPROVE)
    listing = requests.get(f"{api}/user", headers=KEY, params={"take": 50}, timeout=TIMEOUT).json()
    assert {"id": bob, "plexId": 777} in [{"id": u["id"], "plexId": u["plexId"]} for u in listing["results"]]
    assert listing["pageInfo"]["results"] == 3


# ---------------------------------------------------------------- webhooks


@pytest.mark.parametrize(
    ("examples_file", "media_type", "tmdb_id", "seasons"),
    [("webhook_examples_movie.txt", "movie", 603, None), ("webhook_examples_tv.txt", "tv", 1399, [1, 2])],
)
def test_webhook_payloads_match_the_captured_examples(
    overseerr: OverseerrStandin, examples_file: str, media_type: str, tmdb_id: int, seasons: list[int] | None
) -> None:
    jdoe = overseerr.add_user(
        "jdoe",
        plex_id=694,
        email="jdoe@example.com",
        avatar="https://plex.tv/users/694ea0904ceaf766/avatar?c=1700000000",
    )
    request_id = overseerr.add_request(media_type, tmdb_id, user_id=jdoe, seasons=seasons)
    checked = 0
    for example in webhook_examples(examples_file):
        kind = example["notification_type"]
        if kind.startswith("ISSUE_"):
            continue
        if example["media"] is not None:
            overseerr.set_media_status(tmdb_id, media_type, example["media"]["status"])
        assert overseerr.webhook_payload(kind, request_id) == example, kind
        checked += 1
    assert checked == 7


def test_webhook_payload_values_are_strings(overseerr: OverseerrStandin) -> None:
    request_id = overseerr.add_request("movie", 603, user_id=2)
    payload = overseerr.webhook_payload("MEDIA_AVAILABLE", request_id)
    template = json.loads((WEBHOOKS / "default_template.json").read_text())
    assert set(payload) == {key.strip("{}") for key in template}
    for section in ("media", "request"):
        assert all(isinstance(value, str) for value in payload[section].values())
    assert payload["media"]["tvdbId"] == ""
    assert payload["issue"] is None and payload["comment"] is None and payload["extra"] == []


# ---------------------------------------------------------------- contract checks


def test_request_validation_helper_catches_invalid_requests(overseerr: OverseerrStandin, api: str) -> None:
    requests.post(f"{api}/request", headers=KEY, json={"mediaType": "movie", "mediaId": 603}, timeout=TIMEOUT)
    assert overseerr.validate_requests() == []

    requests.post(f"{api}/request", headers=KEY, json={"mediaType": "book", "mediaId": 603}, timeout=TIMEOUT)
    requests.get(f"{api}/request", headers=KEY, params={"sort": "newest"}, timeout=TIMEOUT)
    requests.get(f"{api}/auth/me", timeout=TIMEOUT)
    errors = overseerr.validate_requests()
    assert len(errors) == 3
    assert "request.body.mediaType should be equal to one of the allowed values: movie, tv" in errors[0]
    assert "request.query.sort" in errors[1]
    assert "connect.sid" in errors[2]


def call_every_endpoint(overseerr: OverseerrStandin, api: str) -> None:
    """Every endpoint the stand-in serves, each answering 200/201 (16 calls)."""
    overseerr.add_request("tv", 1399, user_id=2, status="APPROVED", seasons=[1], modified_by=1)
    movie = requests.post(
        f"{api}/request", headers=AS_FRIEND, json={"mediaType": "movie", "mediaId": 603}, timeout=TIMEOUT
    ).json()
    requests.post(
        f"{api}/request", headers=KEY, json={"mediaType": "tv", "mediaId": 1399, "seasons": [2, 3]}, timeout=TIMEOUT
    )
    for path in (
        "/status",
        "/auth/me",
        "/user?take=10&skip=0&sort=created",
        "/search?query=The%20Matrix&page=1&language=en",
        "/search?query=thrones",
        "/movie/603",
        "/movie/604?language=en",
        "/tv/1399",
        "/request?take=20&skip=0&filter=all&sort=added",
        "/request?filter=processing&sort=modified&requestedBy=2",
        "/request/count",
        f"/request/{movie['id']}",
        "/settings/main",
    ):
        assert requests.get(f"{api}{path}", headers=KEY, timeout=TIMEOUT).status_code == 200, path
    assert requests.post(f"{api}/request/{movie['id']}/approve", headers=KEY, timeout=TIMEOUT).status_code == 200
    answered = [r for r in overseerr.requests if 200 <= r.extra["response"]["status"] < 300]
    assert len(answered) == 16


def test_every_answer_validates_against_the_subset_file(overseerr: OverseerrStandin, api: str) -> None:
    call_every_endpoint(overseerr, api)
    assert overseerr.validate_requests() == []
    # The subset file types the null serverId/profileId/rootFolder as nullable: no tolerance needed.
    assert overseerr.validate_responses(tolerate_documented_quirks=False) == []

    # An answer of another shape is reported.
    record = next(r for r in overseerr.requests if r.path.endswith("/auth/me"))
    record.extra["response"]["body"] = json.dumps({"id": "one", "email": "x@example.com", "permissions": 2}).encode()
    problems = overseerr.validate_responses()
    assert len(problems) == 1 and "GET /api/v1/auth/me -> 200: id: 'one' is not of type 'integer'" in problems[0]


def test_undocumented_error_statuses_are_reported_on_request(overseerr: OverseerrStandin, api: str) -> None:
    requests.get(f"{api}/request/42", headers=KEY, timeout=TIMEOUT)
    assert overseerr.validate_responses() == []
    assert overseerr.validate_responses(include_undocumented_statuses=True) == [
        "GET /api/v1/request/42 -> 404: status 404 is not documented in the spec"
    ]


# ---------------------------------------------------------------- lifecycle


def test_stop_refuses_connections_and_restart_keeps_port_and_state(overseerr: OverseerrStandin) -> None:
    request_id = overseerr.add_request("movie", 603, user_id=2)
    port = overseerr.port
    overseerr.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{overseerr.api_url}/status", timeout=TIMEOUT)
    overseerr.start()
    assert overseerr.port == port
    answer = requests.get(f"{overseerr.api_url}/request/{request_id}", headers=KEY, timeout=TIMEOUT)
    assert answer.status_code == 200
