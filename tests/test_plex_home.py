"""The Plex home on the dashboard: recently added, continue watching and now playing, against the stand-in.

Every test that talks to the stand-in ends by checking each call MediaNest made
against the Plex spec (``validate_plex_requests``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from medianest_plex import home
from medianest_plex.client import PlexServer
from medianest_plex.home import continue_watching_task, refresh_now_playing, refresh_recently_added

from medianest.extensions import db
from medianest.http import reset_clients
from medianest.models import User
from medianest.plugins import HealthCheck, HealthResult
from medianest.status import record_one
from tests.standins.plex import PlexServerStandin, PlexSession, validate_plex_requests

TOKEN = "plex-server-token-home"
ALICE_PLEX_TOKEN = "alice-plex-account-token"
ALICE_PLEX_ID = "4242"
HX = {"HX-Request": "true"}


@pytest.fixture
def pms() -> Iterator[PlexServerStandin]:
    standin = PlexServerStandin(token=TOKEN)
    movies = standin.add_library("Movies", "movie")
    shows = standin.add_library("TV Shows", "show")
    standin.keys = {
        "matrix": standin.add_item(movies, "The Matrix", 1999, duration=8_160_000),
        "heat": standin.add_item(movies, "Heat", 1995, duration=10_200_000),
    }
    severance = standin.add_item(shows, "Severance", 2022)
    standin.keys["s1e1"] = standin.add_episode(severance, 1, 1, "Good News About Hell")
    standin.keys["s1e2"] = standin.add_episode(severance, 1, 2, "Half Loop")
    standin.add_token(ALICE_PLEX_TOKEN)
    standin.set_progress(ALICE_PLEX_TOKEN, standin.keys["s1e2"], 1_350_000)  # half of 45 minutes
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture
def plex(pms: PlexServerStandin, monkeypatch: pytest.MonkeyPatch) -> Iterator[PlexServerStandin]:
    monkeypatch.setenv("MEDIANEST_PLEX_URL", pms.url)
    monkeypatch.setenv("MEDIANEST_PLEX_TOKEN", TOKEN)
    reset_clients()
    yield pms
    reset_clients()


def signed_in_with_plex(app, user) -> None:
    """Give ``user`` the encrypted Plex token a Plex sign-in stores."""

    with app.app_context():
        row = db.session.get(User, user.id)
        row.plex_id = ALICE_PLEX_ID
        row.display_name = "Alice Liddell"
        row.plex_token = app.extensions["medianest.keyring"].encrypt(ALICE_PLEX_TOKEN, f"users.plex_token.{row.id}")
        db.session.commit()


def card(client, card_id: str, status: int = 200) -> str:
    response = client.get(f"/dashboard/cards/{card_id}", headers=HX)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def record_status(app, status: str, error: str | None = None) -> None:

    with app.app_context():
        check = HealthCheck(name="plex", check=lambda: None, display_name="Plex")
        record_one("plex", check, HealthResult(status, None, error))


# ------------------------------------------------------------------ the cards
def test_recently_added_and_continue_watching_show_posters_titles_and_progress(app, user_client, alice, plex):

    signed_in_with_plex(app, alice)
    assert "Not read from Plex yet" in card(user_client, "plex-recently-added")
    with app.app_context():
        assert refresh_recently_added() is True
        assert refresh_recently_added() is False  # nothing new: no event
        continue_watching_task()  # the periodic run: everyone who signed in with Plex
    asked = len(plex.requests)

    recent = card(user_client, "plex-recently-added")
    assert "The Matrix (1999)" in recent and "Heat (1995)" in recent
    assert "Severance — S1 · E2" in recent and recent.index("S1 · E2") < recent.index("S1 · E1")  # newest first
    assert ">Movies</h3>" in recent and ">TV Shows</h3>" in recent
    watching = card(user_client, "plex-continue-watching")
    assert "Severance — S1 · E2" in watching
    assert '<progress max="100" value="50"' in watching and "50 %" in watching
    assert len(plex.requests) == asked  # the cards read what the tasks kept, never Plex

    # The posters come through MediaNest's poster route, and it serves them.
    poster = recent.split('class="plex-home-poster" src="')[1].split('"')[0].replace("&amp;", "&")
    assert poster.startswith("/plex/poster?")
    image = user_client.get(poster)
    assert image.status_code == 200 and image.mimetype.startswith("image/")
    # The same through the API, for scripts.
    api = user_client.get("/api/v1/plex/home/recently-added").get_json()["data"]
    assert (
        api["checked"] is True
        and api["down"] is False
        and [s["title"] for s in api["shelves"]]
        == [
            "Movies",
            "TV Shows",
        ]
    )
    mine = user_client.get("/api/v1/plex/home/continue-watching").get_json()["data"]
    assert mine["signed_in_with_plex"] is True
    assert [(i["title"], i["progress"]) for i in mine["items"]] == [("Severance — S1 · E2", 50)]
    # Continue watching was asked with alice's own token, not the server's.
    asked_for_alice = [r for r in plex.requests if r.path == "/hubs/continueWatching"]
    assert asked_for_alice and {r.headers.get("X-Plex-Token") for r in asked_for_alice} == {ALICE_PLEX_TOKEN}
    assert validate_plex_requests(plex) == []


@pytest.mark.sqlite_only
def test_a_local_account_is_told_to_sign_in_with_plex(app, user_client, alice, plex):

    with app.app_context():
        continue_watching_task()
        continue_watching_task(alice.id)
    assert "Sign in with Plex to see what you were watching" in card(user_client, "plex-continue-watching")
    mine = user_client.get("/api/v1/plex/home/continue-watching").get_json()["data"]
    assert mine == {
        "signed_in_with_plex": False,
        "items": [],
        "checked": False,
        "down": False,
        "error": None,
        "stored_at": None,
        "age_seconds": None,
    }
    assert not [r for r in plex.requests if r.path == "/hubs/continueWatching"]


@pytest.mark.sqlite_only
def test_now_playing_is_for_admins_and_publishes_only_changes(
    app, admin_client, user_client, alice, plex, socketio_client
):

    signed_in_with_plex(app, alice)
    admin_browser, alice_browser = socketio_client(admin_client), socketio_client(user_client)
    card(user_client, "plex-now-playing", status=404)
    assert "card-plex-now-playing" not in user_client.get("/").get_data(as_text=True)
    assert "Not checked yet" in card(admin_client, "plex-now-playing")

    seen: list[dict] = []
    app.extensions["medianest.subscriptions"].setdefault("plex.now_playing", []).append(("core", seen.append))
    keys = plex.keys
    with app.app_context():
        assert refresh_now_playing() is True  # the first answer: nothing playing
        assert refresh_now_playing() is False
        plex.set_sessions(
            [
                PlexSession(keys["s1e2"], int(ALICE_PLEX_ID), "alice_plex", view_offset=1_350_000),
                PlexSession(keys["heat"], 77, "Grandpa Joe", player_title="Kitchen iPad", transcode=True),
            ]
        )
        assert refresh_now_playing() is True
        assert refresh_now_playing() is False
        plex.sessions[0].view_offset = 1_400_000  # a minute on: still the same 5 % step
        assert refresh_now_playing() is False
        plex.sessions[0].state = "paused"
        assert refresh_now_playing() is True
    assert [e["streams"] for e in seen] == [0, 2, 2]
    assert seen[1]["titles"] == ["Severance — S1 · E2", "Heat (1995)"] and seen[1]["transcoding"] == 1
    # The "admins" audience: the admins' browsers get it, alice's (who is in it) does not.
    admin_browser.wait_for("plex.now_playing", lambda e: e["streams"] == 2)
    assert alice_browser.received("plex.now_playing") == []

    assert user_client.get("/api/v1/plex/home/now-playing").status_code == 403
    streams = admin_client.get("/api/v1/plex/home/now-playing").get_json()["data"]["streams"]
    assert [(s["who"], s["title"], s["decision"], s["state"], s["progress"]) for s in streams] == [
        ("Alice Liddell", "Severance — S1 · E2", "direct", "paused", 51),
        ("Grandpa Joe", "Heat (1995)", "transcode", "playing", 0),
    ]
    text = card(admin_client, "plex-now-playing")
    assert "Alice Liddell" in text and "Grandpa Joe" in text and "Kitchen iPad" in text  # MediaNest's name first
    assert "Direct play" in text and "Transcoding" in text and "paused" in text
    assert '<progress max="100" value="51"' in text
    assert validate_plex_requests(plex) == []


@pytest.mark.sqlite_only
def test_when_plex_is_down_the_cards_say_so_and_keep_the_last_good_answer(app, admin_client, admin_user, plex):

    signed_in_with_plex(app, admin_user)
    plex.set_sessions([PlexSession(plex.keys["matrix"], 1, "Morpheus")])
    with app.app_context():
        home.refresh_now_playing(), home.refresh_recently_added(), home.refresh_continue_watching(admin_user.id)

    plex.stop()
    reset_clients()
    with app.app_context():
        # "Plex stopped answering" is news too, once.
        assert home.refresh_now_playing() is True and home.refresh_recently_added() is True
        assert home.refresh_now_playing() is False
    playing = card(admin_client, "plex-now-playing")
    assert 'data-role="plex-down"' in playing and "The Matrix (1999)" in playing and "Morpheus" in playing
    recent = card(admin_client, "plex-recently-added")
    assert 'data-role="plex-down"' in recent and "The Matrix (1999)" in recent and "Showing what it said" in recent

    # The health check's verdict counts too, before the next read fails.
    assert 'data-role="plex-down"' not in card(admin_client, "plex-continue-watching")
    record_status(app, "offline", "Plex could not be reached.")
    watching = card(admin_client, "plex-continue-watching")
    assert "Plex could not be reached." in watching and "Severance — S1 · E2" in watching

    plex.start()
    reset_clients()
    record_status(app, "online")
    with app.app_context():
        assert home.refresh_now_playing() is True  # back: the card drops its notice
    assert 'data-role="plex-down"' not in card(admin_client, "plex-now-playing")


@pytest.mark.sqlite_only
def test_odd_answers_from_plex_never_break_a_card(app, admin_client, plex, monkeypatch):
    """Schema-valid but odd: missing fields, nulls, wrong types. Each card still renders."""

    odd = [
        {},
        {"type": "episode", "title": None, "grandparentTitle": None, "parentIndex": None, "index": "x"},
        {"type": "movie", "title": "Odd", "year": 99999, "viewOffset": 10, "duration": 0, "thumb": None},
        {"type": "movie", "title": "Paused", "Player": None, "User": [], "Session": "x", "TranscodeSession": {}},
        {"title": "Deep", "viewOffset": 500, "duration": 100, "Media": [None, {"Part": [None, {"decision": 3}]}]},
        {"title": "Odder", "Media": 5, "year": float("nan"), "TranscodeSession": {"videoDecision": ["x"]}},
        {"title": "Oddest", "Media": "x", "duration": float("inf"), "viewOffset": 1, "ratingKey": 12},
    ]
    monkeypatch.setattr(PlexServer, "sessions", lambda self: odd)
    monkeypatch.setattr(PlexServer, "recently_added", lambda self, *a: odd)
    with app.app_context():
        assert home.refresh_now_playing() is True and home.refresh_recently_added() is True
    text = card(admin_client, "plex-now-playing")
    assert "Untitled" in text and "Odd" in text and "Transcoding" in text and 'value="100"' in text
    assert "Odd" in card(admin_client, "plex-recently-added")
    assert [home.display_title(m) for m in odd[1:3]] == ["Untitled", "Odd"]


@pytest.mark.sqlite_only
def test_without_plex_settings_the_cards_say_so_and_the_api_answers_not_configured(admin_client):
    assert "No Plex server is connected yet" in card(admin_client, "plex-now-playing")
    assert "No Plex server is connected yet" in card(admin_client, "plex-recently-added")
    for what in ("recently-added", "continue-watching", "now-playing"):
        answer = admin_client.get(f"/api/v1/plex/home/{what}")
        assert answer.status_code == 503 and answer.get_json()["error"]["code"] == "NOT_CONFIGURED", what
