"""The plex plugin: browsing, posters, settings, the card — against the Plex stand-in.

Every test ends by checking each call MediaNest made against the Plex spec
(``validate_plex_requests``): headers, token as a header, JSON accepted.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from medianest_plex import cache
from medianest_plex.plugin import check_plex
from medianest_plex.plugin import test_connection as plex_connection_test

from medianest.extensions import db
from medianest.http import reset_clients
from medianest.models import AuditEvent, InstallationValue
from medianest.plugins import HealthCheck
from medianest.service_settings import service_config
from medianest.status import record
from tests.standins.plex import PlexServerStandin, validate_plex_requests

TOKEN = "plex-server-token-7f3a9c"
MACHINE = "c0ffee" * 6 + "beef"


def seed(pms: PlexServerStandin) -> dict:
    movies = pms.add_library("Movies", "movie", locations=["/media/movies"])
    films = [
        ("The Matrix", 1999),
        ("Alien", 1979),
        ("Heat", 1995),
        ("Arrival", 2016),
        ("Blade Runner", 1982),
        ("Zodiac", 2007),
        ("A Quiet Place", 2018),
    ]
    keys = {
        t: pms.add_item(movies, t, y, file_path=f"/media/movies/{t} ({y}).mkv", summary=f"About {t}.") for t, y in films
    }
    videos = pms.add_library("YouTube", "movie", locations=["/downloads"])
    for n in range(60):
        pms.add_item(videos, f"Clip {n:02d}", 2020, file_path=f"/downloads/old/clip{n:02d}.mp4")
    classics = pms.add_collection(movies, "Classics", [keys["Alien"], keys["Heat"]])
    return {"movies": str(movies), "videos": str(videos), "keys": keys, "classics": classics}


@pytest.fixture
def pms() -> Iterator[PlexServerStandin]:
    standin = PlexServerStandin(token=TOKEN, machine_identifier=MACHINE)
    standin.seeded = seed(standin)
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture
def plex(pms: PlexServerStandin, monkeypatch: pytest.MonkeyPatch) -> Iterator[PlexServerStandin]:
    """The stand-in, configured for MediaNest through the environment."""
    monkeypatch.setenv("MEDIANEST_PLEX_URL", pms.url)
    monkeypatch.setenv("MEDIANEST_PLEX_TOKEN", TOKEN)
    reset_clients()
    yield pms
    reset_clients()


def data(response, status: int = 200):
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_json()["data"]


def error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    body = response.get_json()
    assert body["success"] is False and body["error"]["code"] == code, body
    return body["error"]


# ------------------------------------------------------------------ browsing
def test_browse_libraries_items_collections_details_and_search(app, user_client, plex):
    seeded = plex.seeded
    libraries = data(user_client.get("/api/v1/plex/libraries"))
    assert [(lib["key"], lib["title"], lib["type"]) for lib in libraries] == [
        (seeded["movies"], "Movies", "movie"),
        (seeded["videos"], "YouTube", "movie"),
    ]

    r = user_client.get(f"/api/v1/plex/libraries/{seeded['movies']}/items?per_page=3")
    body = r.get_json()
    assert [i["title"] for i in body["data"]] == ["Alien", "Arrival", "Blade Runner"]  # by titleSort
    assert body["meta"]["pagination"] == {"page": 1, "per_page": 3, "total": 7, "pages": 3}
    page3 = data(user_client.get(f"/api/v1/plex/libraries/{seeded['movies']}/items?per_page=3&page=3"))
    assert [i["title"] for i in page3] == ["Zodiac"]
    by_year = data(user_client.get(f"/api/v1/plex/libraries/{seeded['movies']}/items?sort=year"))
    assert [i["year"] for i in by_year][:3] == [2018, 2016, 2007]  # newest first by default
    oldest = data(user_client.get(f"/api/v1/plex/libraries/{seeded['movies']}/items?sort=year&order=asc"))
    assert oldest[0]["title"] == "Alien"
    added = data(user_client.get(f"/api/v1/plex/libraries/{seeded['movies']}/items?sort=added"))
    assert added[0]["title"] == "A Quiet Place"  # added last
    first = body["data"][0]
    assert first["poster"].startswith("/plex/poster?path=") and first["url"] == f"/plex/items/{first['key']}"

    collections = data(user_client.get(f"/api/v1/plex/collections?library={seeded['movies']}"))
    assert [(c["title"], c["child_count"], c["type"]) for c in collections] == [("Classics", 2, "collection")]
    assert collections[0]["url"] == f"/plex/collections/{seeded['classics']}"
    everywhere = data(user_client.get("/api/v1/plex/collections"))
    assert [c["key"] for c in everywhere] == [seeded["classics"]]
    members = data(user_client.get(f"/api/v1/plex/collections/{seeded['classics']}/items"))
    assert [m["title"] for m in members] == ["Alien", "Heat"]

    details = data(user_client.get(f"/api/v1/plex/items/{seeded['keys']['Heat']}"))
    assert (details["title"], details["year"], details["summary"]) == ("Heat", 1995, "About Heat.")
    assert details["library_title"] == "Movies"

    found = data(user_client.get("/api/v1/plex/search?query=the"))
    assert {f["title"] for f in found} >= {"The Matrix"}
    assert all(f["hub"] for f in found)
    assert data(user_client.get("/api/v1/plex/search?query=zzzz-nothing")) == []

    # Every call MediaNest made is what the Plex spec and the contract allow.
    assert plex.requests, "no call reached the stand-in"
    assert validate_plex_requests(plex) == []
    with app.app_context():
        client_id = InstallationValue.get("plex_client_identifier")  # the one the sign-in sends too
    assert client_id and {r.headers.get("X-Plex-Client-Identifier") for r in plex.requests} == {client_id}
    assert all(r.headers.get("X-Plex-Product") == "MediaNest" for r in plex.requests)


def test_answers_are_cached_and_the_cache_can_be_cleared(app, user_client, plex):
    movies = plex.seeded["movies"]
    url = f"/api/v1/plex/libraries/{movies}/items?sort=added"
    assert len(data(user_client.get(url))) == 7
    calls = len(plex.requests)
    plex.add_item(int(movies), "Dune", 2021)
    assert len(data(user_client.get(url))) == 7  # from the cache: Plex not asked
    assert len(plex.requests) == calls
    with app.app_context():
        cache.invalidate()
    assert data(user_client.get(url))[0]["title"] == "Dune"


def test_pages_libraries_library_collection_item_and_search(user_client, plex):
    seeded = plex.seeded
    page = user_client.get("/plex/").get_data(as_text=True)
    assert "Movies" in page and "YouTube" in page
    page = user_client.get(f"/plex/libraries/{seeded['videos']}").get_data(as_text=True)
    assert page.count('class="plex-item"') == 50 and "Clip 00" in page and "Clip 50" not in page
    assert "fragment=items" in page  # the next page loads when scrolled to
    r = user_client.get(f"/plex/libraries/{seeded['videos']}?page=2&fragment=items", headers={"HX-Request": "true"})
    fragment = r.get_data(as_text=True)
    assert "HX-Request" in r.headers["Vary"]
    assert "<html" not in fragment and fragment.count('class="plex-item"') == 10 and "Clip 59" in fragment
    assert "fragment=items" not in fragment  # nothing more to load
    no_js = user_client.get(f"/plex/libraries/{seeded['videos']}?page=2").get_data(as_text=True)
    assert "<html" in no_js and "Previous page" in no_js and "Clip 59" in no_js

    page = user_client.get(f"/plex/libraries/{seeded['movies']}/collections").get_data(as_text=True)
    assert "Classics" in page
    page = user_client.get(f"/plex/collections/{seeded['classics']}").get_data(as_text=True)
    assert "Alien" in page and "Heat" in page and "The Matrix" not in page
    page = user_client.get(f"/plex/items/{seeded['keys']['Arrival']}").get_data(as_text=True)
    assert "Arrival" in page and "2016" in page
    r = user_client.get(f"/plex/items/{seeded['classics']}")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/plex/collections/{seeded['classics']}")
    page = user_client.get("/plex/search?query=blade").get_data(as_text=True)
    assert "Blade Runner" in page and "<html" in page
    results = user_client.get("/plex/search?query=blade", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Blade Runner" in results and "<html" not in results
    assert validate_plex_requests(plex) == []


# ------------------------------------------------------------------ bad input
def test_bad_input_gets_clear_errors(user_client, plex):
    movies = plex.seeded["movies"]
    before = len(plex.requests)
    error(user_client.get("/api/v1/plex/libraries/not-a-key/items"), 404, "NOT_FOUND")
    error(user_client.get("/api/v1/plex/libraries/-1/items"), 404, "NOT_FOUND")
    assert len(plex.requests) == before  # keys Plex never gives are refused without asking Plex
    err = error(user_client.get("/api/v1/plex/libraries/4242/items"), 404, "NOT_FOUND")
    assert "4242" in err["message"]
    error(user_client.get("/api/v1/plex/collections?library=4242"), 404, "NOT_FOUND")
    error(user_client.get("/api/v1/plex/collections/4242/items"), 404, "NOT_FOUND")
    error(user_client.get("/api/v1/plex/items/999999"), 404, "NOT_FOUND")
    error(user_client.get(f"/api/v1/plex/collections/{plex.seeded['keys']['Heat']}/items"), 404, "NOT_FOUND")

    for query in ("page=-1", "page=0", "per_page=-5", "per_page=0", "page=abc", "sort=rating", "order=up", "x=1"):
        err = error(user_client.get(f"/api/v1/plex/libraries/{movies}/items?{query}"), 400, "VALIDATION_ERROR")
        assert err["details"]["fields"], query
    huge = user_client.get(f"/api/v1/plex/libraries/{plex.seeded['videos']}/items?per_page=1000000").get_json()
    assert huge["meta"]["pagination"]["per_page"] == 100 and len(huge["data"]) == 60
    assert all(
        int(r.query.get("X-Plex-Container-Size", ["0"])[0]) <= 100 for r in plex.requests if r.path.endswith("/all")
    )
    error(user_client.get("/api/v1/plex/search"), 400, "VALIDATION_ERROR")
    error(user_client.get("/api/v1/plex/search?query="), 400, "VALIDATION_ERROR")
    error(user_client.get("/api/v1/plex/search?query=" + "x" * 201), 400, "VALIDATION_ERROR")
    assert user_client.get("/api/v1/plex/search?query=heat&limit=100000").status_code == 200

    r = user_client.get("/plex/libraries/4242")
    assert r.status_code == 404 and "There is no Plex library 4242" in r.get_data(as_text=True)
    r = user_client.get(f"/plex/libraries/{movies}?page=-3")
    assert r.status_code == 400 and "Traceback" not in r.get_data(as_text=True)
    assert validate_plex_requests(plex) == []


@pytest.mark.parametrize("mode", ["xml", "truncated"])
def test_xml_or_truncated_answers_are_clear_errors(user_client, plex, mode):
    plex.answer_mode = mode
    err = error(user_client.get("/api/v1/plex/libraries"), 502, "SERVICE_BAD_ANSWER")
    assert "not JSON" in err["message"] and err["details"]["service"] == "plex"
    error(user_client.get(f"/api/v1/plex/libraries/{plex.seeded['movies']}/items"), 502, "SERVICE_BAD_ANSWER")
    error(user_client.get("/api/v1/plex/search?query=heat"), 502, "SERVICE_BAD_ANSWER")
    page = user_client.get("/plex/")
    assert page.status_code == 502 and "not JSON" in page.get_data(as_text=True)
    assert "Traceback" not in page.get_data(as_text=True)
    plex.answer_mode = "json"
    assert len(data(user_client.get("/api/v1/plex/libraries"))) == 2  # errors are not cached
    assert validate_plex_requests(plex) == []


def test_not_configured_and_unreachable(user_client, monkeypatch):
    from tests.standins.base import closed_port

    monkeypatch.delenv("MEDIANEST_PLEX_URL", raising=False)
    error(user_client.get("/api/v1/plex/libraries"), 503, "NOT_CONFIGURED")
    monkeypatch.setenv("MEDIANEST_PLEX_URL", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("MEDIANEST_PLEX_TOKEN", TOKEN)
    reset_clients()
    err = error(user_client.get("/api/v1/plex/libraries"), 503, "SERVICE_UNAVAILABLE")
    assert err["details"]["service"] == "plex"
    assert user_client.get("/plex/").status_code == 503
    reset_clients()


def test_wrong_token_is_reported_not_leaked(user_client, plex, monkeypatch):
    monkeypatch.setenv("MEDIANEST_PLEX_TOKEN", "wrong-token-123")
    reset_clients()
    r = user_client.get("/api/v1/plex/libraries")
    error(r, 502, "SERVICE_UNAUTHORIZED")
    assert "wrong-token-123" not in r.get_data(as_text=True)


# ------------------------------------------------------------------ posters
def test_poster_route_serves_plex_images_and_refuses_other_paths(app, user_client, plex):
    items = data(user_client.get(f"/api/v1/plex/libraries/{plex.seeded['movies']}/items"))
    poster = items[0]["poster"]
    r = user_client.get(poster)
    assert r.status_code == 200 and r.mimetype == "image/png" and r.data.startswith(b"\x89PNG")
    assert "private" in r.headers["Cache-Control"]
    transcodes = [q for q in plex.requests if q.path == "/photo/:/transcode"]
    assert len(transcodes) == 1
    assert transcodes[0].query["width"] == ["240"] and transcodes[0].query["height"] == ["360"]
    assert transcodes[0].headers["X-Plex-Token"] == TOKEN
    again = user_client.get(poster)
    assert again.status_code == 200 and again.data == r.data
    assert len([q for q in plex.requests if q.path == "/photo/:/transcode"]) == 1  # from the disk cache
    odd = user_client.get(poster.replace("w=240", "w=99999").replace("h=360", "h=-4"))
    assert odd.status_code == 200
    assert [q.query["width"] for q in plex.requests if q.path == "/photo/:/transcode"][-1] == ["1000"]

    before = len(plex.requests)
    key = plex.seeded["keys"]["Zodiac"]
    for path in (
        f"/library/metadata/{key}/thumb/1",
        "http://169.254.169.254/latest/meta-data",
        "/library/sections/all",
        "",
        "../../etc/passwd",
    ):
        refused = user_client.get("/plex/poster", query_string={"path": path})
        assert refused.status_code == 404, path
        assert "only shows images that Plex named" in refused.get_data(as_text=True)
    assert len(plex.requests) == before  # refused without a call to Plex
    assert user_client.application.test_client().get(poster).status_code == 302  # anonymous: sign in first
    assert validate_plex_requests(plex) == []


# ------------------------------------------------------------------ the token
def test_no_response_contains_the_token(app, admin_client, plex, monkeypatch):
    seeded = plex.seeded

    with app.app_context():
        result = check_plex()
        record({"plex": ("plex", HealthCheck("plex", check_plex, display_name="Plex Media Server"), result)})
    items = data(admin_client.get(f"/api/v1/plex/libraries/{seeded['movies']}/items"))
    urls = [
        "/",
        "/dashboard/cards/plex",
        "/plex/",
        f"/plex/libraries/{seeded['movies']}",
        f"/plex/libraries/{seeded['videos']}?page=2&fragment=items",
        f"/plex/libraries/{seeded['movies']}/collections",
        f"/plex/collections/{seeded['classics']}",
        f"/plex/items/{seeded['keys']['Heat']}",
        "/plex/search?query=a",
        "/plex/settings",
        items[0]["poster"],
        "/api/v1/plex/libraries",
        f"/api/v1/plex/libraries/{seeded['movies']}/items",
        "/api/v1/plex/collections",
        f"/api/v1/plex/collections/{seeded['classics']}/items",
        f"/api/v1/plex/items/{seeded['keys']['Heat']}",
        "/api/v1/plex/search?query=the",
        "/api/v1/dashboard/status",
        "/api/v1/openapi.json",
        "/api/v1/plex/libraries/4242/items",
        "/api/v1/admin/services",
    ]
    seen = 0
    for url in urls:
        for headers in ({}, {"HX-Request": "true"}):
            r = admin_client.get(url, headers=headers)
            body = r.get_data()
            assert TOKEN.encode() not in body, url
            seen += r.status_code == 200
    assert seen >= 2 * (len(urls) - 3)
    plex.answer_mode = "xml"
    with app.app_context():
        cache.invalidate()
    for url in ("/api/v1/plex/libraries", "/plex/", "/api/v1/plex/search?query=x"):
        assert TOKEN.encode() not in admin_client.get(url).get_data(), url


# ------------------------------------------------------------------ settings, health, card
def test_connection_test_reads_identity(app, plex):

    with app.app_context():
        result = plex_connection_test({"url": plex.url, "token": TOKEN})
        assert result.ok, result.message
        assert MACHINE in result.message and plex.version in result.message
        assert result.details["machine_identifier"] == MACHINE and result.details["version"] == plex.version
        assert result.details["name"] and result.details["libraries"] == ["Movies", "YouTube"]
        refused = plex_connection_test({"url": plex.url, "token": "nope"})
        assert not refused.ok and "refused the token" in refused.message
        no_token = plex_connection_test({"url": plex.url, "token": ""})
        assert not no_token.ok and "enter a token" in no_token.message
        assert not plex_connection_test({"url": "", "token": TOKEN}).ok
    assert any(r.path == "/identity" for r in plex.requests)
    assert validate_plex_requests(plex) == []


def test_health_check_and_dashboard_card(app, user_client, plex):

    with app.app_context():
        result = check_plex()
        assert result.status == "online", result.error
        assert result.details["machine_identifier"] == MACHINE
        counts = {lib["title"]: lib["count"] for lib in result.details["libraries"]}
        assert counts == {"Movies": 7, "YouTube": 60}
        record({"plex": ("plex", HealthCheck("plex", check_plex, display_name="Plex Media Server"), result)})
    calls = len(plex.requests)
    card = user_client.get("/dashboard/cards/plex").get_data(as_text=True)
    assert "reachable" in card and plex.version in card and "YouTube" in card and "60" in card
    assert "Movies" in user_client.get("/?cards=inline").get_data(as_text=True)
    assert len(plex.requests) == calls  # pages read the status record, never Plex
    plex.stop()
    reset_clients()
    with app.app_context():
        down = check_plex()
    assert down.status == "offline" and "Plex refused the connection" in down.error
    plex.start()
    with app.app_context():
        import os

        os.environ["MEDIANEST_PLEX_TOKEN"] = "bad"
        reset_clients()
        assert check_plex().status == "degraded"
    assert validate_plex_requests(plex) == []


def test_use_my_plex_sign_in_fills_the_token(app, admin_client, user_client, monkeypatch, plex):
    monkeypatch.delenv("MEDIANEST_PLEX_TOKEN")
    # The local admin never signed in with Plex: a clear refusal.
    err = error(admin_client.post("/api/v1/plex/token-from-sign-in"), 409, "CONFLICT")
    assert "signed in with Plex" in err["message"]
    error(user_client.post("/api/v1/plex/token-from-sign-in"), 403, "FORBIDDEN")
    assert admin_client.post("/api/v1/plex/token-from-sign-in", csrf=False).status_code in (400, 403)

    import medianest_plex.views

    monkeypatch.setattr(medianest_plex.views, "plex_token_for", lambda user_id: TOKEN)
    r = admin_client.post("/api/v1/plex/token-from-sign-in")
    assert data(r)["token"] != TOKEN and TOKEN not in r.get_data(as_text=True)
    with app.app_context():
        assert service_config("plex")["token"] == TOKEN
        audit = db.session.scalars(db.select(AuditEvent).where(AuditEvent.target == "plex")).all()
        assert audit and TOKEN not in str(audit[-1].details)
    reset_clients()
    assert len(data(user_client.get("/api/v1/plex/libraries"))) == 2
    page = admin_client.post("/plex/settings/token-from-sign-in")
    assert page.status_code == 302
    assert validate_plex_requests(plex) == []


def test_access_rules(client, user_client, plex):
    assert error(client.get("/api/v1/plex/libraries"), 401, "AUTH_REQUIRED")
    assert client.get("/plex/").status_code == 302
    assert user_client.get("/plex/settings").status_code == 403


# ------------------------------------------------------------------ answers the spec allows
@pytest.mark.parametrize("added_at", [1_700_000_000_000, 253_402_300_800, 10**18, -5])
def test_timestamps_out_of_range_show_no_date_instead_of_failing(user_client, plex, added_at):
    """Plex's document types timestamps as plain integers: one in milliseconds (or past 9999) is no 500."""
    movies = int(plex.seeded["movies"])
    key = plex.add_item(movies, "Far Future", 2024, added_at=added_at)
    listed = data(user_client.get(f"/api/v1/plex/libraries/{movies}/items?per_page=100"))
    item = next(row for row in listed if row["key"] == key)
    assert item["added_at"] is None
    for url in (f"/plex/libraries/{movies}", f"/plex/items/{key}", "/plex/search?query=far"):
        r = user_client.get(url)
        assert r.status_code == 200 and "Far Future" in r.get_data(as_text=True), url
