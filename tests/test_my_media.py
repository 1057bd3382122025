""" "My media": requests and downloads of one person, newest first, with their state and Plex link."""

from __future__ import annotations

from datetime import timedelta

import pytest
from medianest_overseerr.models import MediaRequest
from medianest_youtube.models import Download

from medianest.extensions import db
from medianest.models import utcnow

API = "/api/v1/me/media"
MATRIX_IN_PLEX = "https://app.plex.tv/desktop#!/server/c0ffee/details?key=%2Flibrary%2Fmetadata%2F603"


@pytest.fixture
def alices_media(app, alice):
    """A request made three days ago (available), a finished download in Plex, one running, one failed."""

    now = utcnow()
    with app.app_context():
        db.session.add(
            MediaRequest(
                user_id=alice.id,
                media_type="movie",
                tmdb_id=603,
                title="The Matrix",
                year=1999,
                poster_url="https://image.tmdb.org/t/p/w300/matrix.jpg",
                status="available",
                plex_url=MATRIX_IN_PLEX,
                created_at=now - timedelta(days=3),
            )
        )
        db.session.add(  # linked in Plex, but no longer there: no link
            MediaRequest(
                user_id=alice.id,
                media_type="movie",
                tmdb_id=604,
                title="The Matrix Reloaded",
                status="removed",
                plex_url="https://app.plex.tv/desktop#!/server/c0ffee/details?key=%2Flibrary%2Fmetadata%2F604",
                created_at=now - timedelta(days=4),
            )
        )
        db.session.add_all(
            [
                Download(
                    user_id=alice.id,
                    url="https://www.youtube.com/playlist?list=PL1",
                    title="Lectures",
                    status="completed",
                    percent=100.0,
                    collection_key="777",
                    collection_url="/plex/collections/777",
                    created_at=now - timedelta(days=2),
                ),
                Download(
                    user_id=alice.id,
                    url="https://www.youtube.com/playlist?list=PL2",
                    title="Concerts",
                    status="running",
                    percent=42.4,
                    entry_index=2,
                    entry_count=5,
                    created_at=now - timedelta(days=1),
                ),
                Download(
                    user_id=alice.id,
                    url="https://www.youtube.com/playlist?list=PL3",
                    title="Gone",
                    status="failed",
                    error="The playlist does not exist.",
                    created_at=now - timedelta(hours=1),
                ),
            ]
        )
        db.session.commit()


def test_hook_media_items_merges_every_plugins_items_newest_first(app, alice, user_client, alices_media):
    answer = user_client.get(API)
    assert answer.status_code == 200, answer.get_json()
    items = answer.get_json()["data"]
    assert [(i["source"], i["title"], i["state"], i["status"]) for i in items] == [
        ("YouTube", "Gone", "failed", "Failed"),
        ("YouTube", "Concerts", "in_progress", "Downloading 42 %"),
        ("YouTube", "Lectures", "ready", "In Plex"),
        ("Overseerr", "The Matrix (1999)", "ready", "Available"),
        ("Overseerr", "The Matrix Reloaded", "failed", "Removed in Overseerr"),
    ]
    running, finished, request, removed = items[1], items[2], items[3], items[4]
    assert running["progress"] == 42.4 and running["detail"] == "Video 2 of 5"
    assert finished["plex_url"] == "/plex/collections/777" and finished["link"].startswith("/youtube/")
    assert request["poster"] == "https://image.tmdb.org/t/p/w300/matrix.jpg"
    assert request["plex_url"] == MATRIX_IN_PLEX and removed["plex_url"] is None  # only what is ready links
    assert items[0]["detail"] == "The playlist does not exist."
    assert answer.get_json()["meta"]["pagination"]["total"] == 5


def test_filters_and_paging(app, user_client, alices_media):
    def titles(**params):
        return [i["title"] for i in user_client.get(API, query_string=params).get_json()["data"]]

    assert titles(state="ready") == ["Lectures", "The Matrix (1999)"]
    assert titles(state="in_progress") == ["Concerts"]
    assert titles(state="failed") == ["Gone", "The Matrix Reloaded"]
    assert titles(per_page=2, page=2) == ["Lectures", "The Matrix (1999)"]
    bad = user_client.get(API, query_string={"state": "lost"})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "VALIDATION_ERROR"


def test_only_admins_see_another_persons_media(app, alice, bob, other_client, admin_client, alices_media):
    assert other_client.get(API).get_json()["data"] == []
    refused = other_client.get(API, query_string={"user_id": alice.id})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "FORBIDDEN"
    assert other_client.get("/me/media", query_string={"user_id": alice.id}).status_code == 403
    seen = admin_client.get(API, query_string={"user_id": alice.id}).get_json()["data"]
    assert len(seen) == 5
    assert admin_client.get(API, query_string={"user_id": 999999}).status_code == 404
    page = admin_client.get("/me/media", query_string={"user_id": alice.id}).get_data(as_text=True)
    assert "Alice’s media" in page and "Lectures" in page


def test_the_page_shows_states_progress_and_the_plex_link(app, user_client, alices_media):
    html = user_client.get("/me/media").get_data(as_text=True)
    assert 'href="/plex/collections/777"' in html and "Open in Plex" in html
    request = html[html.index('data-id="request-') :]
    request = request[: request.index("</li>")]
    assert f'href="{MATRIX_IN_PLEX}"' in request and "Open in Plex" in request
    assert '<progress max="100" value="42.4">' in html
    assert "youtube.download.progress from:body" in html  # the list follows the downloads live
    ready = user_client.get("/me/media?state=ready", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Lectures" in ready and "Concerts" not in ready and "<html" not in ready
