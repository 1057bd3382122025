"""Downloads into Plex collections: from a published ``youtube.download.completed``
to a collection holding the new items — with slow scans, a server down at first,
and the ways it can fail (always ending in a clear notification, never a lost row).

The Celery task is driven here by calling it in-process (``apply``: retries run
at once) or step by step (``collect_step``); the live-server test in
``test_plex_live.py`` runs it on the real embedded worker.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from medianest_plex import downloads
from medianest_plex.downloads import (
    MAX_ATTEMPTS,
    SCAN_WAIT,
    STUCK_AFTER,
    collect_download,
    collect_step,
    on_download_completed,
    resume_stuck,
    retry_delay,
)
from medianest_plex.models import DownloadCollection

from medianest.celery_app import build_beat_schedule
from medianest.events import InvalidEventPayload, publish
from medianest.extensions import db
from medianest.http import reset_clients
from medianest.models import utcnow
from tests.standins.plex import PlexServerStandin, validate_plex_requests

TOKEN = "plex-download-token-51d2"
MACHINE = "d0d0" * 10
COMPLETED = "youtube.download.completed"


@pytest.fixture
def pms() -> Iterator[PlexServerStandin]:
    standin = PlexServerStandin(token=TOKEN, machine_identifier=MACHINE, scan_delay_polls=3)
    standin.add_library("Movies", "movie", locations=["/media/movies"])
    standin.youtube = standin.add_library("YouTube", "movie", locations=["/srv/youtube"])
    standin.add_item(standin.youtube, "Older video", 2020, file_path="/srv/youtube/old/older.mp4")
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture
def plex(pms, monkeypatch) -> Iterator[PlexServerStandin]:
    monkeypatch.setenv("MEDIANEST_PLEX_URL", pms.url)
    monkeypatch.setenv("MEDIANEST_PLEX_TOKEN", TOKEN)
    reset_clients()
    yield pms
    reset_clients()


@pytest.fixture
def bus(app, monkeypatch):
    """Declares the youtube event for the test, records what is published, and keeps queued tasks."""

    app.extensions["medianest.events"].setdefault(COMPLETED, "youtube")
    seen: list[tuple[str, dict]] = []
    for name in ("notification", downloads.READY_EVENT):
        app.extensions["medianest.subscriptions"].setdefault(name, []).append(
            ("plex", lambda payload, name=name: seen.append((name, payload)))
        )
    queued: list[str] = []
    monkeypatch.setattr(downloads.collect_download, "delay", lambda download_id: queued.append(download_id))
    return {"seen": seen, "queued": queued}


def publish_completed(
    app, user_id, download_id="1", title="Cooking Basics", files=None, folder="/srv/youtube/alice/cooking"
):

    if files is None:
        files = [f"{folder}/01 - Knives.mp4", f"{folder}/02 - Onions.webm", f"{folder}/02 - Onions.info.json"]
    with app.app_context():
        # The whole payload the YouTube plugin declares (validated when published).
        publish(
            COMPLETED,
            {
                "user_id": user_id,
                "download_id": int(download_id),
                "status": "completed",
                "title": title,
                "percent": 100.0,
                "entry_index": None,
                "entry_count": len(files),
                "entry_title": None,
                "speed": None,
                "eta": None,
                "files": files,
                "failures": [],
                "error": None,
                "folder": folder,
            },
        )


def row(app, download_id="1"):

    with app.app_context():
        found = db.session.get(DownloadCollection, download_id)
        if found is not None:
            db.session.expunge(found)
        return found


def run_task(app, download_id="1"):

    with app.app_context():
        collect_download.apply(args=[download_id])


def steps(app, download_id="1", limit=100) -> list:
    """Run the task's steps until it finishes; returns the waits it asked for."""

    waits = []
    for _ in range(limit):
        with app.app_context():
            wait = collect_step(download_id)
        if wait is None:
            return waits
        waits.append(wait)
    raise AssertionError("the task never finished")


def register_download(pms, folder="/srv/youtube/alice/cooking"):
    pms.register_file(pms.youtube, f"{folder}/01 - Knives.mp4", "Knives")
    pms.register_file(pms.youtube, f"{folder}/02 - Onions.webm", "Onions")


def test_completed_download_becomes_a_collection_after_a_slow_scan(app, alice, plex, bus):
    register_download(plex)
    publish_completed(app, alice.id)
    assert bus["queued"] == ["1"]
    assert row(app).status == "queued"

    run_task(app)

    collection = plex.collection_by_title("Alice — Cooking Basics")
    assert collection is not None and collection.section_id == plex.youtube
    titles = sorted(plex.items[k].title for k in collection.item_keys)
    assert titles == ["Knives", "Onions"]
    done = row(app)
    assert done.status == "done" and done.collection_key == collection.rating_key and done.missing == 0
    assert done.polls >= 3  # the scan needed several looks before the files showed up
    assert plex.scan_requests == [(plex.youtube, "/srv/youtube/alice/cooking")]  # one targeted scan

    ready = [p for name, p in bus["seen"] if name == "plex.collection.ready"]
    assert ready == [
        {
            "user_id": alice.id,
            "download_id": "1",
            "collection_key": collection.rating_key,
            "collection_title": "Alice — Cooking Basics",
            "url": f"/plex/collections/{collection.rating_key}",
            "plex_url": f"https://app.plex.tv/desktop#!/server/{MACHINE}/details"
            f"?key=%2Flibrary%2Fcollections%2F{collection.rating_key}",
        }
    ]
    notes = [p for name, p in bus["seen"] if name == "notification"]
    assert len(notes) == 1 and notes[0]["user_id"] == alice.id and notes[0]["level"] == "success"
    assert notes[0]["link"] == f"/plex/collections/{collection.rating_key}" and "Cooking Basics" in notes[0]["message"]

    creates = [r for r in plex.requests if r.method == "POST" and r.path == "/library/collections"]
    assert len(creates) == 1 and creates[0].query["uri"][0].startswith(
        f"server://{MACHINE}/com.plexapp.plugins.library/library/metadata/"
    )
    assert validate_plex_requests(plex) == []

    # Running it again (a redelivered task) changes nothing.
    before = len(plex.requests)
    run_task(app)
    assert len(plex.requests) == before


def test_a_second_download_of_the_same_playlist_joins_the_existing_collection(app, alice, plex, bus):
    plex.scan_delay_polls = 0
    register_download(plex)
    publish_completed(app, alice.id)
    run_task(app)
    first = plex.collection_by_title("Alice — Cooking Basics")
    plex.register_file(plex.youtube, "/srv/youtube/alice/cooking-2/03 - Eggs.mkv", "Eggs")
    publish_completed(
        app,
        alice.id,
        download_id="2",
        folder="/srv/youtube/alice/cooking-2",
        files=["/srv/youtube/alice/cooking-2/03 - Eggs.mkv"],
    )
    run_task(app, "2")
    assert len([c for c in plex.collections.values() if c.title == "Alice — Cooking Basics"]) == 1
    assert sorted(plex.items[k].title for k in first.item_keys) == ["Eggs", "Knives", "Onions"]
    assert any(r.method == "PUT" and r.path == f"/library/collections/{first.rating_key}/items" for r in plex.requests)
    assert validate_plex_requests(plex) == []


def test_server_down_at_first_is_retried_until_it_answers(app, alice, plex, bus):
    register_download(plex)
    plex.stop()  # keeps its port: MediaNest sees "connection refused"
    publish_completed(app, alice.id)

    with app.app_context():
        assert collect_step("1") == retry_delay(1) == 5
        assert collect_step("1") == retry_delay(2) == 10
    waiting = row(app)
    assert waiting.status == "queued" and waiting.attempts == 2 and "plex" in waiting.error.lower()
    assert not [n for n in bus["seen"] if n[0] == "notification"]  # no alarm while retrying

    plex.start()
    reset_clients()  # the breaker would otherwise wait out its reset time
    waits = steps(app)
    assert waits and all(w <= 30 for w in waits)
    done = row(app)
    assert done.status == "done" and len(done.item_keys) == 2
    assert plex.collection_by_title("Alice — Cooking Basics") is not None
    assert validate_plex_requests(plex) == []


def test_plex_down_for_good_ends_in_a_clear_notification_and_the_row_stays(app, alice, user_client, plex, bus):

    plex.stop()
    publish_completed(app, alice.id)
    waits = steps(app)
    assert len(waits) == MAX_ATTEMPTS - 1 and waits == sorted(waits)  # growing pauses
    failed = row(app)
    assert failed.status == "failed" and "Plex kept failing" in failed.error
    notes = [p for name, p in bus["seen"] if name == "notification"]
    assert len(notes) == 1 and notes[0]["level"] == "error" and notes[0]["user_id"] == alice.id
    assert "Cooking Basics" in notes[0]["message"] and "files are where they were saved" in notes[0]["message"]

    # The owner sees why, and can try again once Plex is back.
    info = user_client.get("/api/v1/plex/downloads/1/collection").get_json()["data"]
    assert info["status"] == "failed" and info["error"]
    plex.start()
    reset_clients()
    register_download(plex)
    r = user_client.post("/api/v1/plex/downloads/1/collection/retry")
    assert r.status_code == 202 and bus["queued"][-1] == "1"
    assert user_client.post("/api/v1/plex/downloads/1/collection/retry").status_code == 409
    run_task(app)
    assert row(app).status == "done"


def test_files_that_never_appear_end_in_a_notification(app, alice, plex, bus):

    publish_completed(app, alice.id)  # nothing registered: Plex never finds the files
    waits = steps(app, limit=200)
    assert sum(waits) >= SCAN_WAIT and max(waits) <= 30
    failed = row(app)
    assert failed.status == "failed" and "did not find the files" in failed.error and "YouTube" in failed.error
    notes = [p for name, p in bus["seen"] if name == "notification"]
    assert notes[-1]["level"] == "error"
    assert not plex.collections


def test_some_files_missing_still_makes_the_collection_and_says_so(app, alice, plex, bus):
    plex.scan_delay_polls = 0
    plex.register_file(plex.youtube, "/srv/youtube/alice/cooking/01 - Knives.mp4", "Knives")
    publish_completed(app, alice.id)
    steps(app, limit=200)
    done = row(app)
    assert done.status == "done" and done.missing == 1 and len(done.item_keys) == 1
    notes = [p for name, p in bus["seen"] if name == "notification"]
    assert notes[-1]["level"] == "warning" and "1 file(s) did not show up" in notes[-1]["message"]


def test_settings_library_template_and_path_mapping(app, alice, plex, bus, monkeypatch):
    plex.scan_delay_polls = 0
    # MediaNest saves under /data/downloads, Plex sees the same folder as /srv/youtube.
    monkeypatch.setenv("MEDIANEST_PLEX_PATH_MAPPING", "/data/downloads=/srv/youtube")
    monkeypatch.setenv("MEDIANEST_PLEX_COLLECTION_TEMPLATE", "YT: {title} ({user})")
    monkeypatch.setenv("MEDIANEST_PLEX_DOWNLOAD_LIBRARY", "youtube")
    register_download(plex)
    publish_completed(
        app,
        alice.id,
        folder="/data/downloads/alice/cooking",
        files=["/data/downloads/alice/cooking/01 - Knives.mp4", "/data/downloads/alice/cooking/02 - Onions.webm"],
    )
    run_task(app)
    collection = plex.collection_by_title("YT: Cooking Basics (Alice)")
    assert collection is not None and len(collection.item_keys) == 2
    assert plex.scan_requests == [(plex.youtube, "/srv/youtube/alice/cooking")]

    monkeypatch.setenv("MEDIANEST_PLEX_DOWNLOAD_LIBRARY", "No Such Library")
    publish_completed(app, alice.id, download_id="9")
    run_task(app, "9")
    failed = row(app, "9")
    assert failed.status == "failed" and "No Such Library" in failed.error


def test_no_library_holds_the_folder(app, alice, plex, bus):
    publish_completed(app, alice.id, folder="/elsewhere/x", files=["/elsewhere/x/a.mp4"])
    run_task(app)
    failed = row(app)
    assert failed.status == "failed" and "no Plex library holds the download folder" in failed.error
    assert [p["level"] for n, p in bus["seen"] if n == "notification"] == ["error"]


def test_event_without_plex_configured_or_id_is_ignored(app, alice, bus, monkeypatch):
    monkeypatch.delenv("MEDIANEST_PLEX_URL", raising=False)
    publish_completed(app, alice.id)
    assert bus["queued"] == [] and row(app) is None

    with app.app_context():
        with pytest.raises(InvalidEventPayload, match="download_id: Field required"):
            publish(COMPLETED, {"user_id": alice.id, "title": "no id"})
        on_download_completed({"user_id": alice.id, "title": "no id"})  # and the handler ignores one all the same
    assert bus["queued"] == []


def test_landing_download_clears_the_cache(app, alice, user_client, plex, bus):
    plex.scan_delay_polls = 0
    url = f"/api/v1/plex/libraries/{plex.youtube}/items?sort=added"
    assert [i["title"] for i in user_client.get(url).get_json()["data"]] == ["Older video"]
    register_download(plex)
    plex.complete_scans()
    plex.add_item(plex.youtube, "Fresh", 2024)
    assert len(user_client.get(url).get_json()["data"]) == 1  # still cached
    publish_completed(app, alice.id)
    assert user_client.get(url).get_json()["data"][0]["title"] == "Fresh"


def test_only_the_owner_and_admins_see_a_download_collection(
    app, alice, user_client, other_client, admin_client, plex, bus
):
    plex.scan_delay_polls = 0
    register_download(plex)
    publish_completed(app, alice.id)
    run_task(app)
    mine = user_client.get("/api/v1/plex/downloads/1/collection").get_json()["data"]
    assert mine["status"] == "done" and mine["url"].startswith("/plex/collections/")
    assert other_client.get("/api/v1/plex/downloads/1/collection").status_code == 404
    assert other_client.post("/api/v1/plex/downloads/1/collection/retry").status_code == 404
    assert admin_client.get("/api/v1/plex/downloads/1/collection").status_code == 200
    assert user_client.get("/api/v1/plex/downloads/nope/collection").status_code == 404


def test_a_step_lost_with_a_restart_is_queued_again(app, alice, plex, bus):
    """A retry waiting in the queue dies with the process that held it; the minute sweep finds the row."""
    from datetime import timedelta

    register_download(plex)
    publish_completed(app, alice.id)
    assert bus["queued"] == ["1"]  # ...and the process holding this task stops before it runs
    with app.app_context():
        assert resume_stuck() == []  # not overdue yet: its step may still come
        assert resume_stuck(utcnow() + STUCK_AFTER + timedelta(seconds=1)) == ["1"]
    assert bus["queued"] == ["1", "1"]
    steps(app)
    assert row(app).status == "done"
    with app.app_context():
        assert resume_stuck(utcnow() + timedelta(days=1)) == []  # finished rows are left alone


def test_the_sweep_runs_every_minute(app):

    with app.app_context():
        schedule = build_beat_schedule(app)
    assert schedule["plex.resume-collections"] == {"task": "plex.resume_collections", "schedule": 60.0}


def test_the_download_page_shows_the_collection_step_and_retries_it(app, alice, user_client, other_client, plex, bus):
    """The fragment a finished download's page loads: the step's state, and a retry when it failed."""
    plex.stop()
    publish_completed(app, alice.id)
    steps(app)
    assert other_client.get("/plex/downloads/1/collection").status_code == 204  # not theirs: nothing
    failed = user_client.get("/plex/downloads/1/collection", headers={"HX-Request": "true"})
    html = failed.get_data(as_text=True)
    assert failed.status_code == 200 and 'data-collection-status="failed"' in html
    assert "Not in a Plex collection: Plex kept failing" in html and 'id="plex-collection-retry"' in html

    plex.start()
    reset_clients()
    register_download(plex)
    retried = user_client.post("/plex/downloads/1/collection/retry", headers={"HX-Request": "true"})
    html = retried.get_data(as_text=True)
    assert 'data-collection-status="queued"' in html and "every 5s" in html  # it watches itself until done
    assert bus["queued"][-1] == "1"
    run_task(app)
    done = user_client.get("/plex/downloads/1/collection").get_data(as_text=True)
    assert 'data-collection-status="done"' in done and "collection “Alice — Cooking Basics”" in done
    assert other_client.post("/plex/downloads/1/collection/retry").status_code == 404
