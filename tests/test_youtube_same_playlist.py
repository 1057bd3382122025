"""Two downloads of one playlist at once, and the same URL submitted by many at once."""

from __future__ import annotations

import threading

import pytest

from tests.support.apps import sign_in
from tests.test_youtube_support import feed_fixture, files_under, row_of, run_job_in_thread, yt_env_fixture  # noqa: F401

API = "/api/v1/youtube/downloads"


def test_two_downloads_of_one_playlist_write_apart_and_both_files_are_whole(
    app, user_client, alice, yt_env, feed, monkeypatch
):
    monkeypatch.setenv("MEDIANEST_YOUTUBE_MAX_CONCURRENT", "2")
    feed.bytes_per_second = 400_000  # slow enough that both are writing the same entries at once
    feed.add_playlist("mix", "Summer Mix", [("One", 300_000), ("Two", 200_000), ("Three", 100_000)])
    plain = feed.url_for_playlist("mix")
    ids = [user_client.post(API, json={"url": url, "format": "best"}) for url in (plain, plain + "?from=share")]
    assert [r.status_code for r in ids] == [201, 201]
    ids = [r.get_json()["data"]["id"] for r in ids]

    threads = [run_job_in_thread(app, download_id) for download_id in ids]
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive()

    folders = set()
    for download_id in ids:
        data = user_client.get(f"{API}/{download_id}").get_json()["data"]
        assert data["status"] == "completed", data
        assert [f["name"] for f in data["files"]] == [
            "01 - One [mix-1].mp4",
            "02 - Two [mix-2].mp4",
            "03 - Three [mix-3].mp4",
        ]
        folders.add(data["folder"])
        for n, entry in enumerate(("mix-1", "mix-2", "mix-3")):
            served = user_client.get(f"{API}/{download_id}/files/{n}")
            assert served.status_code == 200 and served.data == feed.content_of(entry)
    assert len(folders) == 2, "both downloads wrote into one folder"
    names = sorted({p.parent.name for p in files_under(yt_env)})
    assert "Summer Mix" in names and len(names) == 2  # one keeps the playlist's name, the other adds its id
    assert not [p for p in files_under(yt_env) if p.suffix in (".part", ".ytdl")]
    for path in files_under(yt_env):
        assert path.read_bytes() == feed.content_of(path.name.rsplit("[", 1)[1].split("]")[0])


def test_a_rerun_beside_a_running_download_of_the_same_folder_moves(app, user_client, alice, yt_env, feed):
    from medianest_youtube import downloads
    from medianest_youtube.models import Download

    from medianest.extensions import db

    with app.app_context():
        first = Download(user_id=alice.id, url="https://youtu.be/a", status="running", folder="Mix", percent=0.0)
        second = Download(user_id=alice.id, url="https://youtu.be/b", status="running", folder="MIX", percent=0.0)
        db.session.add_all([first, second])
        db.session.commit()
        assert downloads.folder_of_its_own(second, "MIX") == f"MIX [{second.id}]"
        assert (
            downloads.folder_of_its_own(second, second.folder) == f"MIX [{second.id}]"
        )  # stays put once it has its own
        first.status = "completed"
        db.session.commit()
        third = Download(user_id=alice.id, url="https://youtu.be/c", status="running", folder="Mix", percent=0.0)
        db.session.add(third)
        db.session.commit()
        assert downloads.folder_of_its_own(third, "Mix") == "Mix"  # a finished download's folder is reused


def test_the_same_url_submitted_at_once_is_created_once(app, alice, yt_env):
    url = "https://www.youtube.com/playlist?list=PLsame"
    clients = [sign_in(app.test_client(), alice) for _ in range(6)]
    start = threading.Barrier(len(clients))
    answers: list = [None] * len(clients)

    def submit(n: int) -> None:
        start.wait()
        answers[n] = clients[n].post(API, json={"url": url, "format": "best"})

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [409] * (len(clients) - 1), statuses
    created = next(a.get_json()["data"]["id"] for a in answers if a.status_code == 201)
    for answer in answers:
        if answer.status_code == 409:
            error = answer.get_json()["error"]
            assert error["code"] == "CONFLICT"
            assert error["details"]["download"]["id"] == created

    from medianest_youtube.models import Download

    from medianest.extensions import db

    with app.app_context():
        assert db.session.query(Download).filter_by(url=url).count() == 1
    assert row_of(app, created).status in ("queued", "running")


def test_the_migration_keys_existing_rows_and_keeps_an_old_duplicate_out_of_the_index(app, alice):
    from alembic import command
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from medianest.database_upgrade import alembic_config, migration_branches
    from medianest.extensions import db

    with app.app_context():
        youtube = alembic_config(app, "youtube", migration_branches(app)["youtube"])
        command.downgrade(youtube, "youtube_0001")
        insert = text(
            "INSERT INTO youtube_downloads (user_id, url, format, status, percent, attempts, cancel_requested,"
            " created_at) VALUES (:user, :url, 'best', :status, 0, 0, false, CURRENT_TIMESTAMP)"
        )
        for url, status in (
            ("https://youtu.be/a", "queued"),
            ("HTTPS://YOUTU.BE/a", "running"),  # the same URL for the key: an older twin from before the index
            ("https://youtu.be/a", "completed"),
            ("https://youtu.be/a?t=1", "queued"),
        ):
            db.session.execute(insert, {"user": alice.id, "url": url, "status": status})
        db.session.commit()
        command.upgrade(youtube, "heads")
        keys = db.session.execute(text("SELECT url, status, url_key FROM youtube_downloads ORDER BY id")).all()
        assert keys[0].url_key is not None and keys[1].url_key is None
        assert keys[2].url_key == keys[0].url_key and keys[3].url_key not in (None, keys[0].url_key)
        db.session.execute(
            text("UPDATE youtube_downloads SET url_key = :key WHERE status = 'completed'"), {"key": keys[0].url_key}
        )
        db.session.commit()  # a finished twin is outside the index
        with pytest.raises(IntegrityError):  # ... and refused as soon as it would be active again
            db.session.execute(text("UPDATE youtube_downloads SET status = 'queued' WHERE status = 'completed'"))
            db.session.commit()
        db.session.rollback()
