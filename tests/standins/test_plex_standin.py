"""Tests of the plex.tv and Plex Media Server stand-ins (tests/standins/plex.py)."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from xml.etree import ElementTree as ET

import pytest
import requests

from tests.standins.plex import (
    PLEX_CONTRACTS_DIR,
    PlexServerStandin,
    PlexSession,
    PlexTvStandin,
    load_plex_spec,
    validate_plex_requests,
    validate_plex_responses,
)

CLIENT_ID = "medianest-test-client"
BASE_HEADERS = {
    "X-Plex-Client-Identifier": CLIENT_ID,
    "X-Plex-Product": "MediaNest",
    "X-Plex-Version": "0.1.0",
    "Accept": "application/json",
}
TIMEOUT = 5


@pytest.fixture
def tv() -> Iterator[PlexTvStandin]:
    standin = PlexTvStandin()
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture
def pms() -> Iterator[PlexServerStandin]:
    standin = PlexServerStandin(token="servertoken", machine_identifier="a" * 40)
    standin.start()
    yield standin
    standin.stop()


def pms_headers(token: str = "servertoken", **extra: str) -> dict[str, str]:
    return {**BASE_HEADERS, "X-Plex-Token": token, **extra}


def get(
    standin: PlexServerStandin | PlexTvStandin,
    endpoint: str,
    headers: dict[str, str] | None = None,
    /,
    **params: object,
) -> requests.Response:
    """GET with the PMS headers unless others are given; keyword arguments are query parameters."""
    return requests.get(
        standin.url + endpoint, headers=pms_headers() if headers is None else headers, params=params, timeout=TIMEOUT
    )


def collection_uri(pms: PlexServerStandin, *keys: str) -> str:
    return f"server://{pms.machine_identifier}/com.plexapp.plugins.library/library/metadata/{','.join(keys)}"


def seed_movies(pms: PlexServerStandin) -> tuple[int, dict[str, str]]:
    section = pms.add_library("Movies", "movie", locations=["/media/movies"])
    keys = {}
    for title, year in [
        ("The Matrix", 1999),
        ("Alien", 1979),
        ("Heat", 1995),
        ("Arrival", 2016),
        ("Blade Runner", 1982),
        ("Zodiac", 2007),
        ("A Quiet Place", 2018),
    ]:
        keys[title] = pms.add_item(section, title, year, file_path=f"/media/movies/{title} ({year}).mkv")
    return section, keys


# ----------------------------------------------------------------- refusals


def test_plex_tv_refuses_calls_without_client_identifier_or_token(tv: PlexTvStandin) -> None:
    r = requests.post(
        tv.url + "/api/v2/pins", params={"strong": "true"}, headers={"Accept": "application/json"}, timeout=TIMEOUT
    )
    assert r.status_code == 400
    assert r.json() == {"errors": [{"code": 1000, "message": "X-Plex-Client-Identifier is missing", "status": 400}]}

    r = get(tv, "/api/v2/user", BASE_HEADERS)
    assert r.status_code == 401
    assert r.json()["errors"][0]["code"] == 1001

    r = get(tv, "/api/v2/resources", {**BASE_HEADERS, "X-Plex-Token": "nobody"})
    assert r.status_code == 401

    # Every refusal body is the one the 2025 file documents for that operation.
    assert validate_plex_responses(tv) == []


def test_pms_refuses_calls_without_client_identifier_or_token(pms: PlexServerStandin) -> None:
    pms.add_library("Movies")
    no_client = {k: v for k, v in pms_headers().items() if k != "X-Plex-Client-Identifier"}
    assert get(pms, "/library/sections/all", no_client).status_code == 400
    assert get(pms, "/library/sections/all", BASE_HEADERS).status_code == 401
    assert get(pms, "/library/sections/all", pms_headers("wrong")).status_code == 401
    assert get(pms, "/library/sections/all").status_code == 200

    # Token in the query string: Plex accepts it, the validator names it.
    assert get(pms, "/library/sections/all", BASE_HEADERS, **{"X-Plex-Token": "servertoken"}).status_code == 200
    # /identity needs nothing (spec: `security: [{}]`, no client-identifier parameter).
    identity = requests.get(pms.url + "/identity", headers={"Accept": "application/json"}, timeout=TIMEOUT)
    assert identity.status_code == 200
    assert identity.json()["MediaContainer"]["machineIdentifier"] == "a" * 40

    # Another token can be allowed (e.g. a shared user's server token).
    pms.add_token("shared-token")
    assert get(pms, "/library/sections/all", pms_headers("shared-token")).status_code == 200

    problems = validate_plex_requests(pms)
    assert any("/library/sections/all" in p and "Security" in p for p in problems)  # no token
    assert any("X-Plex-Token sent in the query string" in p for p in problems)
    assert any("/identity" in p and "X-Plex-Client-Identifier header missing" in p for p in problems)


# ------------------------------------------------------------------ PIN flow


def test_pin_flow_create_poll_claim_user_resources(tv: PlexTvStandin, pms: PlexServerStandin) -> None:
    pin = requests.post(tv.url + "/api/v2/pins", params={"strong": "true"}, headers=BASE_HEADERS, timeout=TIMEOUT)
    assert pin.status_code == 201
    body = pin.json()
    assert body["authToken"] is None
    assert body["clientIdentifier"] == CLIENT_ID
    assert body["product"] == "MediaNest"
    assert len(body["code"]) == 25  # a strong code
    assert 0 < body["expiresIn"] <= 900
    assert body["expiresAt"] > body["createdAt"]

    for _ in range(2):  # polling before the user signs in
        polled = get(tv, f"/api/v2/pins/{body['id']}", BASE_HEADERS)
        assert polled.status_code == 200 and polled.json()["authToken"] is None

    # Another client identifier cannot read this PIN.
    other = get(tv, f"/api/v2/pins/{body['id']}", {**BASE_HEADERS, "X-Plex-Client-Identifier": "other"})
    assert other.status_code == 404

    alice = tv.add_account("alice", "alice@example.org", "alice-token", title="Alice")
    tv.grant_server(alice, pms.machine_identifier, owned=True, uri=pms.url, name="Home", access_token="servertoken")
    tv.grant_server(alice, "b" * 40, owned=False, name="Friend's server", source_title="bob")
    tv.add_device(alice, "Living room TV", "player-1")
    tv.claim_pin(body["code"], alice)

    polled = get(tv, f"/api/v2/pins/{body['id']}", BASE_HEADERS)
    assert polled.json()["authToken"] == "alice-token"

    user = get(tv, "/api/v2/user", {**BASE_HEADERS, "X-Plex-Token": "alice-token"}).json()
    assert (user["username"], user["email"], user["title"], user["authToken"]) == (
        "alice",
        "alice@example.org",
        "Alice",
        "alice-token",
    )
    assert user["id"] == alice.id and user["uuid"] == alice.uuid and user["thumb"].startswith("https://")

    resources = get(
        tv, "/api/v2/resources", {**BASE_HEADERS, "X-Plex-Token": "alice-token"}, includeHttps=1, includeRelay=1
    ).json()
    servers = [r for r in resources if "server" in r["provides"].split(",")]
    assert [r["clientIdentifier"] for r in servers] == [pms.machine_identifier, "b" * 40]
    assert [r["owned"] for r in servers] == [True, False]
    assert servers[1]["sourceTitle"] == "bob"
    assert any(r["provides"] == "client,player" for r in resources)
    home = servers[0]
    assert home["connections"][0]["uri"] == pms.url
    # The resource's token opens the server.
    r = get(pms, "/library/sections/all", pms_headers(home["accessToken"]))
    assert r.status_code == 200

    assert validate_plex_requests(tv) == []
    assert validate_plex_responses(tv) == []


def test_pin_expiry_and_short_codes(tv: PlexTvStandin) -> None:
    pin = requests.post(tv.url + "/api/v2/pins", headers=BASE_HEADERS, timeout=TIMEOUT).json()
    assert len(pin["code"]) == 4  # not strong: a plex.tv/link code
    assert get(tv, f"/api/v2/pins/{pin['id']}", BASE_HEADERS).status_code == 200

    tv.expire_pin(pin["id"])
    r = get(tv, f"/api/v2/pins/{pin['id']}", BASE_HEADERS)
    assert r.status_code == 404
    assert r.json() == {"errors": [{"code": 1020, "message": "Code not found or expired"}]}
    with pytest.raises(ValueError):
        tv.claim_pin(pin["id"], tv.add_account("bob", "bob@example.org", "bob-token"))

    assert get(tv, "/api/v2/pins/999", BASE_HEADERS).status_code == 404
    assert validate_plex_responses(tv) == []

    short_lived = PlexTvStandin(pin_lifetime=0)
    with short_lived:
        created = requests.post(
            short_lived.url + "/api/v2/pins?strong=true", headers=BASE_HEADERS, timeout=TIMEOUT
        ).json()
        assert get(short_lived, f"/api/v2/pins/{created['id']}", BASE_HEADERS).status_code == 404


# --------------------------------------------------------- paging, sorting


def test_paging_with_headers_and_query_params_and_sorting(pms: PlexServerStandin) -> None:
    section, _ = seed_movies(pms)
    path = f"/library/sections/{section}/all"

    titles: list[str] = []
    for start in (0, 3, 6):
        r = get(
            pms,
            path,
            pms_headers(**{"X-Plex-Container-Start": str(start), "X-Plex-Container-Size": "3"}),
            sort="titleSort",
        )
        container = r.json()["MediaContainer"]
        assert (container["offset"], container["totalSize"]) == (start, 7)
        assert container["size"] == len(container["Metadata"]) == (3 if start < 6 else 1)
        assert r.headers["X-Plex-Container-Total-Size"] == "7"
        titles += [m["title"] for m in container["Metadata"]]
    # titleSort drops leading articles: "A Quiet Place" sorts as "Quiet Place".
    assert titles == ["Alien", "Arrival", "Blade Runner", "Heat", "The Matrix", "A Quiet Place", "Zodiac"]

    r = get(pms, path, sort="titleSort:desc", **{"X-Plex-Container-Start": 0, "X-Plex-Container-Size": 2})
    assert [m["title"] for m in r.json()["MediaContainer"]["Metadata"]] == ["Zodiac", "A Quiet Place"]

    r = get(pms, path, sort="year:desc")
    assert [m["year"] for m in r.json()["MediaContainer"]["Metadata"]] == [2018, 2016, 2007, 1999, 1995, 1982, 1979]
    r = get(pms, path, sort="addedAt:desc")
    assert r.json()["MediaContainer"]["Metadata"][0]["title"] == "A Quiet Place"
    r = get(pms, path, sort="addedAt")
    assert r.json()["MediaContainer"]["Metadata"][0]["title"] == "The Matrix"

    assert get(pms, path, sort="rating:desc").status_code == 400
    assert get(pms, path, **{"X-Plex-Container-Start": "x"}).status_code == 400
    assert get(pms, "/library/sections/99/all").status_code == 404

    item = r.json()["MediaContainer"]["Metadata"][0]
    detail = get(pms, f"/library/metadata/{item['ratingKey']}").json()["MediaContainer"]["Metadata"][0]
    assert detail["Media"][0]["Part"][0]["file"] == "/media/movies/The Matrix (1999).mkv"


def test_default_page_size_is_the_specs_50(pms: PlexServerStandin) -> None:
    section = pms.add_library("Movies")
    for n in range(55):
        pms.add_item(section, f"Film {n:02d}", 2000)
    container = get(pms, f"/library/sections/{section}/all").json()["MediaContainer"]
    assert (container["size"], container["totalSize"]) == (50, 55)


# ---------------------------------------------------------------- scanning


def test_targeted_scan_appears_after_several_polls() -> None:
    with PlexServerStandin(scan_delay_polls=3) as pms:
        section, _ = seed_movies(pms)
        pms.register_file(section, "/media/movies/new/Dune (2021).mkv", "Dune", 2021)
        pms.register_file(section, "/media/movies/other/Tenet (2020).mkv", "Tenet", 2020)
        path = f"/library/sections/{section}/all"

        r = get(pms, f"/library/sections/{section}/refresh", path="/media/movies/new")
        assert r.status_code == 200
        assert pms.scan_requests == [(section, "/media/movies/new")]

        for _ in range(3):  # the scan is still running
            assert get(pms, path).json()["MediaContainer"]["totalSize"] == 7
        titles = [m["title"] for m in get(pms, path).json()["MediaContainer"]["Metadata"]]
        assert "Dune" in titles and "Tenet" not in titles  # only the scanned folder

        # A whole-section scan (POST, as the 2026 spec has it) finds the rest;
        # meanwhile the section says it is refreshing.
        assert (
            requests.post(
                pms.url + f"/library/sections/{section}/refresh", headers=pms_headers(), timeout=TIMEOUT
            ).status_code
            == 200
        )
        sections = get(pms, "/library/sections/all").json()["MediaContainer"]["Directory"]
        assert sections[0]["refreshing"] is True
        for _ in range(3):
            get(pms, path)
        assert get(pms, path).json()["MediaContainer"]["totalSize"] == 9
        assert get(pms, "/library/sections/all").json()["MediaContainer"]["Directory"][0]["refreshing"] is False
        # Scanning again does not duplicate items.
        pms.scan_delay_polls = 0
        get(pms, f"/library/sections/{section}/refresh")
        assert get(pms, path).json()["MediaContainer"]["totalSize"] == 9

        assert validate_plex_requests(pms) == []
        assert validate_plex_responses(pms) == []


# ------------------------------------------------------------- collections


def test_collection_creation_and_adding_items(pms: PlexServerStandin) -> None:
    section, keys = seed_movies(pms)
    r = requests.post(
        pms.url + "/library/collections",
        headers=pms_headers(),
        timeout=TIMEOUT,
        params={
            "type": 1,
            "title": "Sci-Fi",
            "smart": 0,
            "sectionId": section,
            "uri": collection_uri(pms, keys["The Matrix"], keys["Arrival"]),
        },
    )
    assert r.status_code == 200
    created = r.json()["MediaContainer"]["Metadata"][0]
    assert (created["type"], created["title"], created["childCount"]) == ("collection", "Sci-Fi", 2)
    collection_key = created["ratingKey"]
    assert pms.collections[collection_key].item_keys == [keys["The Matrix"], keys["Arrival"]]

    r = requests.put(
        pms.url + f"/library/collections/{collection_key}/items",
        headers=pms_headers(),
        params={"uri": collection_uri(pms, keys["Blade Runner"], keys["Arrival"])},
        timeout=TIMEOUT,
    )
    assert r.status_code == 200
    assert r.json()["MediaContainer"]["Metadata"][0]["childCount"] == 3

    listed = get(pms, f"/library/sections/{section}/collections").json()["MediaContainer"]
    assert [c["title"] for c in listed["Metadata"]] == ["Sci-Fi"]
    items = get(pms, f"/library/collections/{collection_key}/items").json()["MediaContainer"]["Metadata"]
    assert [m["title"] for m in items] == ["The Matrix", "Arrival", "Blade Runner"]
    children = get(pms, f"/library/collections/{collection_key}/children").json()["MediaContainer"]["Metadata"]
    assert children == items
    assert (
        get(pms, f"/library/metadata/{collection_key}").json()["MediaContainer"]["Metadata"][0]["type"] == "collection"
    )

    # Refusals: foreign server in the uri, unknown item, unknown collection, wrong type.
    bad = {"type": 1, "title": "X", "smart": 0, "sectionId": section}
    foreign = collection_uri(pms, keys["Heat"]).replace(pms.machine_identifier, "f" * 40)
    assert (
        requests.post(
            pms.url + "/library/collections", headers=pms_headers(), timeout=TIMEOUT, params={**bad, "uri": foreign}
        ).status_code
        == 400
    )
    assert (
        requests.post(
            pms.url + "/library/collections",
            headers=pms_headers(),
            timeout=TIMEOUT,
            params={**bad, "uri": collection_uri(pms, "424242")},
        ).status_code
        == 400
    )
    assert (
        requests.post(
            pms.url + "/library/collections", headers=pms_headers(), timeout=TIMEOUT, params={**bad, "type": 2}
        ).status_code
        == 400
    )
    assert (
        requests.put(
            pms.url + "/library/collections/999999/items",
            headers=pms_headers(),
            timeout=TIMEOUT,
            params={"uri": collection_uri(pms, keys["Heat"])},
        ).status_code
        == 404
    )
    assert pms.collection_by_title("X") is None

    problems = validate_plex_requests(pms)
    # `/children` is served (python-plexapi uses it) but is in neither spec file.
    assert problems == [
        f"GET /library/collections/{collection_key}/children: PathNotFound: "
        f"Path not found for http://localhost:32400/library/collections/{collection_key}/children"
    ]


# ----------------------------------------------------------- answer modes


def test_xml_without_json_accept_and_forced_xml_and_truncated(pms: PlexServerStandin) -> None:
    pms.add_library("Movies")
    xml_headers = {k: v for k, v in pms_headers().items() if k != "Accept"}
    r = get(pms, "/library/sections/all", xml_headers)
    assert r.headers["Content-Type"].startswith("application/xml")
    root = ET.fromstring(r.content)
    assert root.tag == "MediaContainer" and root.find("Directory").get("title") == "Movies"

    pms.answer_mode = "xml"
    r = get(pms, "/library/sections/all")
    assert ET.fromstring(r.content).tag == "MediaContainer"
    with pytest.raises(ValueError):
        r.json()

    pms.answer_mode = "truncated"
    r = get(pms, "/identity")
    assert r.headers["Content-Type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.content)
    with pytest.raises(ValueError):
        pms.answer_mode = "html"

    pms.answer_mode = "json"
    assert get(pms, "/identity").json()["MediaContainer"]["claimed"] is True

    problems = validate_plex_responses(pms)
    assert len(problems) == 3
    assert "mimetype not found: application/xml" in problems[0]
    assert "mimetype not found: application/xml" in problems[1]
    assert "Failed to deserialize value with application/json" in problems[2]


# -------------------------------------------------------- search, images


def test_hub_search(pms: PlexServerStandin) -> None:
    section, keys = seed_movies(pms)
    pms.add_collection(section, "Alien Saga", [keys["Alien"]])
    hubs = get(pms, "/hubs/search", query="ali").json()["MediaContainer"]["Hub"]
    by_type = {h["type"]: h for h in hubs}
    assert [m["title"] for m in by_type["movie"]["Metadata"]] == ["Alien"]
    assert [m["title"] for m in by_type["collection"]["Metadata"]] == ["Alien Saga"]
    assert by_type["show"]["size"] == 0 and "Metadata" not in by_type["show"]
    limited = get(pms, "/hubs/search", query="a", limit=1).json()["MediaContainer"]["Hub"]
    assert next(h for h in limited if h["type"] == "movie")["more"] is True
    assert get(pms, "/hubs/search").status_code == 400


def test_images(pms: PlexServerStandin) -> None:
    section, keys = seed_movies(pms)
    item = get(pms, f"/library/metadata/{keys['Heat']}").json()["MediaContainer"]["Metadata"][0]
    thumb = get(pms, item["thumb"])
    assert thumb.headers["Content-Type"] == "image/jpeg" and thumb.content.startswith(b"\xff\xd8\xff")

    r = get(pms, "/photo/:/transcode", url=item["thumb"], width=120, height=180, minSize=1, upscale=1)
    assert r.headers["Content-Type"] == "image/png" and r.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert struct.unpack(">II", r.content[16:24]) == (120, 180)
    jpeg = get(pms, "/photo/:/transcode", url=item["thumb"], width=10, height=10, format="jpg")
    assert jpeg.headers["Content-Type"] == "image/jpeg"

    assert get(pms, "/photo/:/transcode", url="/library/metadata/424242/thumb/1", width=1, height=1).status_code == 404
    assert get(pms, "/photo/:/transcode", width=10, height=10).status_code == 400
    assert get(pms, "/library/metadata/424242/thumb/1").status_code == 404


# ------------------------------------------------ spec checks of answers


def call_every_pms_endpoint(pms: PlexServerStandin) -> None:
    """Every Plex Media Server endpoint the stand-in serves, each answering 200 (19 calls)."""
    section, keys = seed_movies(pms)
    collection = pms.add_collection(section, "Classics", [keys["Alien"]])
    pms.register_file(section, "/media/movies/new/Dune (2021).mkv", "Dune", 2021)
    shows = pms.add_library("TV Shows", "show")
    severance = pms.add_item(shows, "Severance", 2022)
    episode = pms.add_episode(severance, 1, 2, "Half Loop")
    pms.set_progress("servertoken", episode, 900_000)
    pms.set_sessions(
        [
            PlexSession(episode, 1, "Alice", view_offset=1_350_000),
            PlexSession(keys["Heat"], 2, "Bob", state="paused", transcode=True, location="wan"),
        ]
    )

    get(pms, "/identity")
    get(pms, "/library/sections")  # the classic listing (only the 2025 vendor file has it)
    get(pms, "/library/sections/all")
    get(
        pms,
        f"/library/sections/{section}/all",
        sort="titleSort:desc",
        **{"X-Plex-Container-Start": 2, "X-Plex-Container-Size": 3},
    )
    get(
        pms,
        f"/library/sections/{section}/all",
        pms_headers(**{"X-Plex-Container-Start": "0", "X-Plex-Container-Size": "2"}),
    )
    get(pms, f"/library/metadata/{keys['Heat']},{collection}")
    get(pms, f"/library/sections/{section}/collections")
    get(pms, f"/library/collections/{collection}/items")
    get(pms, "/hubs/search", query="the")
    get(pms, f"/library/sections/{shows}/all", type=4, sort="addedAt:desc", **{"X-Plex-Container-Size": 8})
    get(pms, "/hubs/continueWatching", count=8)
    get(pms, "/status/sessions")
    get(pms, f"/library/sections/{section}/refresh", path="/media/movies/new")  # a targeted scan
    requests.post(pms.url + f"/library/sections/{section}/refresh", headers=pms_headers(), timeout=TIMEOUT)
    requests.post(
        pms.url + "/library/collections",
        headers=pms_headers(),
        timeout=TIMEOUT,
        params={
            "type": 1,
            "title": "Nineties",
            "smart": 0,
            "sectionId": section,
            "uri": collection_uri(pms, keys["Heat"], keys["The Matrix"]),
        },
    )
    requests.put(
        pms.url + f"/library/collections/{collection}/items",
        headers=pms_headers(),
        timeout=TIMEOUT,
        params={"uri": collection_uri(pms, keys["Zodiac"])},
    )
    get(pms, f"/library/metadata/{keys['Heat']}/thumb/1700000000")
    get(pms, f"/library/collections/{collection}/composite/1700000000")
    get(pms, "/photo/:/transcode", url=f"/library/metadata/{keys['Heat']}/thumb/1", width=50, height=75)
    assert len(pms.requests) == 19
    assert all(r.extra["response"].status == 200 for r in pms.requests)


def test_the_home_endpoints_answer_what_a_test_set(pms: PlexServerStandin) -> None:
    shows = pms.add_library("TV Shows", "show")
    show = pms.add_item(shows, "Severance", 2022)
    first, second = pms.add_episode(show, 1, 1, "Good News"), pms.add_episode(show, 1, 2, "Half Loop")
    # A show library lists its shows; its episodes come with type=4, newest first.
    listed = get(pms, f"/library/sections/{shows}/all").json()["MediaContainer"]["Metadata"]
    assert [m["title"] for m in listed] == ["Severance"]
    newest = get(pms, f"/library/sections/{shows}/all", type=4, sort="addedAt:desc").json()["MediaContainer"]
    assert [(m["grandparentTitle"], m["parentIndex"], m["index"]) for m in newest["Metadata"]] == [
        ("Severance", 1, 2),
        ("Severance", 1, 1),
    ]

    # Each token sees its own half-watched items.
    pms.add_token("alice-token")
    pms.set_progress("alice-token", first, 600_000)
    hub = get(pms, "/hubs/continueWatching", pms_headers("alice-token")).json()["MediaContainer"]["Hub"][0]
    assert [(m["ratingKey"], m["viewOffset"], m["duration"]) for m in hub["Metadata"]] == [(first, 600_000, 2_700_000)]
    assert "Metadata" not in get(pms, "/hubs/continueWatching").json()["MediaContainer"]["Hub"][0]

    # Sessions: only the owner's token, and they change when the test says so.
    assert get(pms, "/status/sessions", pms_headers("alice-token")).status_code == 401
    assert get(pms, "/status/sessions").json()["MediaContainer"]["size"] == 0
    pms.set_sessions([PlexSession(second, 7, "Alice", transcode=True, view_offset=1_350_000)])
    (stream,) = get(pms, "/status/sessions").json()["MediaContainer"]["Metadata"]
    assert stream["User"] == {"id": "7", "title": "Alice", "thumb": "https://plex.tv/users/7/avatar"}
    assert stream["Player"]["state"] == "playing" and stream["Session"]["location"] == "lan"
    assert stream["TranscodeSession"]["videoDecision"] == "transcode" and stream["viewOffset"] == 1_350_000
    assert validate_plex_responses(pms) == []


def test_a_whole_session_validates_against_the_subset_file(pms: PlexServerStandin) -> None:
    call_every_pms_endpoint(pms)
    assert validate_plex_requests(pms) == []
    assert validate_plex_responses(pms) == []


def test_pms_refusals_have_the_documented_errors_shape(pms: PlexServerStandin) -> None:
    # The subset file documents the 400/401 `errors` bodies a server sends (the
    # vendor's 2026 file does not: tests/standins/test_vendor_contracts.py).
    pms.add_library("Movies")
    get(pms, "/library/sections/all", BASE_HEADERS)
    get(pms, "/library/sections/all", {k: v for k, v in BASE_HEADERS.items() if k != "X-Plex-Client-Identifier"})
    assert [r.extra["response"].status for r in pms.requests] == [401, 400]
    assert validate_plex_responses(pms) == []

    # A body of another shape is reported.
    pms.clear_requests()
    get(pms, "/library/sections/all", BASE_HEADERS)
    pms.requests[0].extra["response"].body = b'{"error": "no"}'
    problems = validate_plex_responses(pms)
    assert len(problems) == 1 and "errors" in problems[0]


def test_request_validator_rejects_bad_requests(pms: PlexServerStandin, tv: PlexTvStandin) -> None:
    section = pms.add_library("Movies")
    get(pms, f"/library/sections/{section}/all", **{"X-Plex-Container-Start": "abc"})
    requests.post(
        pms.url + "/library/collections", params={"title": "No section"}, headers=pms_headers(), timeout=TIMEOUT
    )
    get(pms, "/library/sections/all", {"X-Plex-Token": "servertoken", "Accept": "application/json"})
    get(pms, "/no/such/endpoint")
    problems = validate_plex_requests(pms)
    assert any("X-Plex-Container-Start" in p and "CastError" in p for p in problems)
    assert any("/library/collections" in p and "sectionId" in p for p in problems)
    assert any("/library/sections/all" in p and "X-Plex-Client-Identifier header missing" in p for p in problems)
    assert any("/no/such/endpoint" in p and "PathNotFound" in p for p in problems)
    assert validate_plex_requests(pms, contract_checks=False) != []

    requests.get(tv.url + "/api/v2/pins/12", headers={"Accept": "application/json"}, timeout=TIMEOUT)
    requests.get(tv.url + "/api/v2/pins/not-a-number", headers=BASE_HEADERS, timeout=TIMEOUT)
    tv_problems = validate_plex_requests(tv, contract_checks=False)
    assert any("MissingRequiredParameter" in p and "X-Plex-Client-Identifier" in p for p in tv_problems)
    assert any("not-a-number" in p and "pinID" in p for p in tv_problems)


# ------------------------------------------------------------- lifecycle


def test_stop_refuses_connections_and_restart_keeps_state(pms: PlexServerStandin) -> None:
    pms.add_library("Movies")
    url = pms.url
    pms.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/identity", timeout=TIMEOUT)
    assert pms.start() == url
    assert get(pms, "/library/sections/all").json()["MediaContainer"]["size"] == 1


def test_specs_are_loaded_once_per_process() -> None:
    assert load_plex_spec() is load_plex_spec("pms-subset.yml")
    assert load_plex_spec("plex-tv-subset.yml") is load_plex_spec(PLEX_CONTRACTS_DIR / "plex-tv-subset.yml")
