"""The YouTube plugin through its API, with real yt-dlp against a local media site."""

from __future__ import annotations

import time

import pytest
from medianest_youtube import downloads
from medianest_youtube.downloads import on_collection_ready
from medianest_youtube.job import DownloadJob
from medianest_youtube.models import Download, UserFolder
from sqlalchemy import event

from medianest.extensions import db
from tests.test_youtube_support import (  # noqa: F401
    feed_fixture,
    files_under,
    person_folder,
    row_of,
    run_job,
    run_job_in_thread,
    yt_env_fixture,
)

API = "/api/v1/youtube/downloads"


def _count(app) -> int:

    with app.app_context():
        return db.session.query(Download).count()


def _submit(client, url, fmt="best"):
    return client.post(API, json={"url": url, "format": fmt})


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"url": "not a url", "format": "best"}, "INVALID_URL"),
        ({"url": "file:///etc/passwd", "format": "best"}, "INVALID_URL"),
        ({"url": "ftp://127.0.0.1/x.mp4", "format": "best"}, "INVALID_URL"),
        ({"url": "http://10.0.0.1/feed.xml", "format": "best"}, "HOST_NOT_ALLOWED"),
        ({"url": "http://youtube.com@192.168.1.1/x", "format": "best"}, "INVALID_URL"),
        ({"url": "https://www.youtube.com/watch?v=x", "format": "4k"}, "VALIDATION_ERROR"),
        ({"url": "https://www.youtube.com/watch?v=" + "a" * 10_000, "format": "best"}, "VALIDATION_ERROR"),
        ({"url": "https://www.youtube.com/watch?v=x", "format": "best", "extra": 1}, "VALIDATION_ERROR"),
    ],
)
def test_bad_input_is_400_with_a_code_and_no_job(app, user_client, yt_env, body, code):
    response = user_client.post(API, json=body)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == code
    assert _count(app) == 0


def test_allowed_host_with_pinned_port(app, user_client, yt_env, monkeypatch):
    monkeypatch.setenv("MEDIANEST_YOUTUBE_ALLOWED_HOSTS", "127.0.0.1:9")
    assert _submit(user_client, "http://127.0.0.1:8080/feeds/a.xml").get_json()["error"]["code"] == "HOST_NOT_ALLOWED"
    assert _submit(user_client, "http://127.0.0.1:9/feeds/a.xml").status_code == 201


def test_default_hosts_are_youtube_only(app, user_client, tmp_path, monkeypatch):
    monkeypatch.setenv("MEDIANEST_YOUTUBE_DOWNLOAD_ROOT", str(tmp_path / "dl"))
    assert _submit(user_client, "http://127.0.0.1/feeds/a.xml").get_json()["error"]["code"] == "HOST_NOT_ALLOWED"
    assert _submit(user_client, "https://music.youtube.com/playlist?list=PL1").status_code == 201


# ------------------------------------------------------------------ the happy path
def test_playlist_downloads_with_a_broken_entry(app, user_client, alice, yt_env, feed):
    feed.add_playlist("mix", "Summer Mix", [("Clip one", 120_000), ("Clip two", 90_000), ("Gone", 5000)], broken=[2])
    response = _submit(user_client, feed.url_for_playlist("mix"))
    assert response.status_code == 201
    download_id = response.get_json()["data"]["id"]
    run_job(app, download_id)

    data = user_client.get(f"{API}/{download_id}").get_json()["data"]
    assert data["status"] == "completed"
    assert data["title"] == "Summer Mix" and data["entry_count"] == 3 and data["percent"] == 100.0
    assert [f["name"] for f in data["files"]] == ["01 - Clip one [mix-1].mp4", "02 - Clip two [mix-2].mp4"]
    assert [f["size"] for f in data["files"]] == [120_000, 90_000]
    assert data["failures"] == [
        {
            "index": 3,
            "title": "Gone",
            "url": feed.url_for_video("mix-3"),
            "error": "Unable to download webpage: HTTP Error 404: File not found",
        }
    ]
    folder = person_folder(yt_env, alice.name, alice.id) / "Summer Mix"
    assert data["folder"] == str(folder)
    assert sorted(p.name for p in files_under(yt_env)) == ["01 - Clip one [mix-1].mp4", "02 - Clip two [mix-2].mp4"]
    assert (folder / "01 - Clip one [mix-1].mp4").read_bytes() == feed.content_of("mix-1")

    # the file through MediaNest, whole and by Range
    whole = user_client.get(f"{API}/{download_id}/files/0")
    assert whole.status_code == 200 and whole.data == feed.content_of("mix-1")
    part = user_client.get(f"{API}/{download_id}/files/1", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == "bytes 100-199/90000"
    assert part.data == feed.content_of("mix-2")[100:200]
    assert user_client.get(f"{API}/{download_id}/files/2").status_code == 404

    # the page shows the same state from the database
    page = user_client.get(f"/youtube/{download_id}").get_data(as_text=True)
    assert 'value="100.0"' in page and "01 - Clip one [mix-1].mp4" in page and "HTTP Error 404" in page


def test_completed_event_carries_folder_and_absolute_files(app, user_client, alice, yt_env, feed, monkeypatch):
    import medianest.events as events

    seen = []
    real_emit = events.publish

    def spy(name, payload):
        seen.append((name, payload))
        return real_emit(name, payload)

    monkeypatch.setattr("medianest_youtube.downloads.publish", spy)
    feed.add_playlist("ev", "Events", [("Only", 50_000)])
    download_id = _submit(user_client, feed.url_for_playlist("ev")).get_json()["data"]["id"]
    run_job(app, download_id)
    names = [n for n, _ in seen]
    assert names[0] == "youtube.download.queued" and names[-1] == "youtube.download.completed"
    assert "youtube.download.progress" in names
    done = seen[-1][1]
    folder = person_folder(yt_env, alice.name, alice.id) / "Events"
    assert done["user_id"] == alice.id and done["download_id"] == download_id
    assert done["folder"] == str(folder)
    assert done["files"] == [str(folder / "01 - Only [ev].mp4")] or done["files"] == [
        str(folder / "01 - Only [ev-1].mp4")
    ]
    progress = [p for n, p in seen if n == "youtube.download.progress"]
    assert {"percent", "speed", "eta", "entry_index", "entry_count", "entry_title", "title"} <= set(progress[-1])


@pytest.mark.parametrize("kind", ["404", "not-a-video"])
def test_404_and_non_video_page_fail_with_a_readable_reason(app, user_client, yt_env, feed, kind):
    url = feed.missing_url if kind == "404" else feed.not_a_video_url
    download_id = _submit(user_client, url).get_json()["data"]["id"]
    run_job(app, download_id)
    data = user_client.get(f"{API}/{download_id}").get_json()["data"]
    assert data["status"] == "failed"
    expected = "HTTP Error 404: File not found" if kind == "404" else "Unsupported URL"
    assert expected in data["error"]
    assert "Traceback" not in data["error"]
    assert files_under(yt_env) == []


def test_a_server_that_never_answers_is_bounded_by_the_socket_timeout(app, user_client, yt_env, feed, monkeypatch):
    monkeypatch.setenv("MEDIANEST_YOUTUBE_SOCKET_TIMEOUT", "1")
    feed.add_video("slow", 10_000)
    feed.set_hang(True)
    download_id = _submit(user_client, feed.url_for_video("slow")).get_json()["data"]["id"]
    thread = run_job_in_thread(app, download_id)
    thread.join(timeout=30)  # 1 s timeout, 1 retry after 0.1 s: far less than this
    assert not thread.is_alive(), "the job kept waiting on a server that never answers"
    data = row_of(app, download_id)
    assert data.status == "failed"
    assert "timed out" in data.error.lower()
    assert data.attempts == 1
    assert len(feed.serves("slow")) == 2  # the first try and one retry (network errors only)


def test_cancel_mid_download_stops_and_removes_partial_files(app, user_client, yt_env, feed):
    feed.bytes_per_second = 200_000
    feed.add_playlist("big", "Big", [("Large", 2_000_000), ("Next", 50_000)])
    download_id = _submit(user_client, feed.url_for_playlist("big")).get_json()["data"]["id"]
    thread = run_job_in_thread(app, download_id)
    _wait(lambda: (row_of(app, download_id).percent or 0) > 1)
    assert any(p.name.endswith(".part") for p in files_under(yt_env))
    response = user_client.post(f"{API}/{download_id}/cancel")
    assert response.status_code == 202
    thread.join(timeout=20)
    assert not thread.is_alive()
    data = user_client.get(f"{API}/{download_id}").get_json()["data"]
    assert data["status"] == "cancelled"
    assert files_under(yt_env) == []
    assert feed.bytes_served("big-1") < 2_000_000  # stopped mid-file, not after it
    assert feed.serves("big-2") == []

    # retry: starts again, finishes, nothing duplicated
    feed.bytes_per_second = None
    assert user_client.post(f"{API}/{download_id}/retry").status_code == 202
    run_job(app, download_id)
    data = user_client.get(f"{API}/{download_id}").get_json()["data"]
    assert data["status"] == "completed"
    assert [p.name for p in files_under(yt_env)] == ["01 - Large [big-1].mp4", "02 - Next [big-2].mp4"]
    assert user_client.post(f"{API}/{download_id}/retry").status_code == 409


def test_rerun_continues_partial_files_and_never_duplicates(app, user_client, alice, yt_env, feed):
    """What a worker killed mid-entry leaves: a finished first file and a .part of the second."""
    feed.add_playlist("resume", "Resume", [("First", 60_000), ("Second", 400_000)])
    download_id = _submit(user_client, feed.url_for_playlist("resume")).get_json()["data"]["id"]
    run_job(app, download_id)
    folder = person_folder(yt_env, alice.name, alice.id) / "Resume"
    second = folder / "02 - Second [resume-2].mp4"
    content = second.read_bytes()
    second.unlink()
    (folder / (second.name + ".part")).write_bytes(content[:150_000])
    first = folder / "01 - First [resume-1].mp4"
    first_stat = (first.stat().st_ino, first.stat().st_mtime_ns)

    with app.app_context():  # as the worker-start recovery finds it: running, its task gone
        row = db.session.get(Download, download_id)
        row.status, row.task_id, row.phase = "running", "dead-task", "downloading"
        db.session.commit()
        assert downloads.recover_orphans(set()) == [download_id]
    run_job(app, download_id)
    assert row_of(app, download_id).status == "completed"
    assert second.read_bytes() == content
    assert feed.ranges_seen("resume-2") == ["bytes=150000-"]
    assert (first.stat().st_ino, first.stat().st_mtime_ns) == first_stat  # the finished file was not fetched again
    assert sorted(p.name for p in folder.iterdir()) == ["01 - First [resume-1].mp4", "02 - Second [resume-2].mp4"]


def test_a_stale_message_for_a_requeued_row_does_not_run(app, user_client, yt_env, feed):

    feed.add_playlist("one", "One", [("A", 20_000)])
    download_id = _submit(user_client, feed.url_for_playlist("one")).get_json()["data"]["id"]
    with app.app_context():
        DownloadJob(download_id, "an-old-task-id").run()
    assert row_of(app, download_id).status == "running" and row_of(app, download_id).attempts == 0
    assert feed.serves("one-1") == []


def test_delete_removes_row_and_files(app, user_client, yt_env, feed):
    feed.add_playlist("del", "Del", [("A", 20_000), ("B", 20_000)])
    download_id = _submit(user_client, feed.url_for_playlist("del")).get_json()["data"]["id"]
    run_job(app, download_id)
    assert len(files_under(yt_env)) == 2
    assert user_client.delete(f"{API}/{download_id}").status_code == 200
    assert user_client.get(f"{API}/{download_id}").status_code == 404
    assert files_under(yt_env) == []
    assert row_of(app, download_id) is None


# ------------------------------------------------------------------ rules
def test_same_url_queued_twice_is_409_with_the_existing_one(app, user_client, other_client, yt_env):
    url = "https://www.youtube.com/playlist?list=PLx"
    first = _submit(user_client, url).get_json()["data"]
    second = _submit(user_client, url)
    assert second.status_code == 409
    assert second.get_json()["error"]["details"]["download"]["id"] == first["id"]
    assert _submit(other_client, url).status_code == 201  # another person may ask for it too


def test_global_cap_and_queue_position(app, user_client, yt_env, monkeypatch):
    monkeypatch.setenv("MEDIANEST_YOUTUBE_MAX_CONCURRENT", "1")
    ids = [_submit(user_client, f"https://youtu.be/v{n}").get_json()["data"]["id"] for n in range(3)]
    listed = {d["id"]: d for d in user_client.get(API).get_json()["data"]}
    assert listed[ids[0]]["status"] == "running"
    assert [listed[i]["queue_position"] for i in ids[1:]] == [1, 2]
    assert "#1 in queue" in user_client.get("/youtube/").get_data(as_text=True)
    assert user_client.post(f"{API}/{ids[0]}/cancel").status_code == 202  # not started: cancelled at once
    listed = {d["id"]: d for d in user_client.get(API).get_json()["data"]}
    assert listed[ids[0]]["status"] == "cancelled"
    assert listed[ids[1]]["status"] == "running" and listed[ids[2]]["queue_position"] == 1


def test_quota_refusal(app, user_client, alice, yt_env, monkeypatch):
    monkeypatch.setenv("MEDIANEST_YOUTUBE_QUOTA_GB", "0.000001")  # about 1 kB
    folder = person_folder(yt_env, alice.name, alice.id) / "Old"
    folder.mkdir(parents=True)
    (folder / "old.mp4").write_bytes(b"x" * 5000)
    response = _submit(user_client, "https://www.youtube.com/watch?v=q")
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "QUOTA_EXCEEDED"
    assert _count(app) == 0


def test_quota_reached_while_downloading_stops_the_job(app, user_client, yt_env, feed, monkeypatch):
    monkeypatch.setenv("MEDIANEST_YOUTUBE_QUOTA_GB", str(100_000 / 1024**3))
    feed.add_playlist("q", "Q", [("A", 60_000), ("B", 60_000)])
    download_id = _submit(user_client, feed.url_for_playlist("q")).get_json()["data"]["id"]
    run_job(app, download_id)
    row = row_of(app, download_id)
    assert row.status == "failed" and "quota" in row.error
    assert not any(p.name.endswith(".part") for p in files_under(yt_env))


@pytest.mark.env(MEDIANEST_RATE_LIMIT_YOUTUBE="2/hour")
def test_submissions_are_rate_limited_per_user(app, user_client, other_client, yt_env):
    assert _submit(user_client, "not a url").status_code == 400  # refused ones don't count
    assert _submit(user_client, "https://youtu.be/a").status_code == 201
    assert _submit(user_client, "https://youtu.be/b").status_code == 201
    limited = _submit(user_client, "https://youtu.be/c")
    assert limited.status_code == 429 and limited.headers["Retry-After"]
    assert _submit(other_client, "https://youtu.be/c").status_code == 201


def test_another_user_can_neither_see_cancel_delete_nor_fetch(
    app, user_client, other_client, admin_client, yt_env, feed
):
    feed.add_playlist("mine", "Mine", [("A", 20_000)])
    download_id = _submit(user_client, feed.url_for_playlist("mine")).get_json()["data"]["id"]
    run_job(app, download_id)
    for method, path in [
        ("get", f"{API}/{download_id}"),
        ("get", f"{API}/{download_id}/files/0"),
        ("post", f"{API}/{download_id}/cancel"),
        ("post", f"{API}/{download_id}/retry"),
        ("delete", f"{API}/{download_id}"),
        ("get", f"/youtube/{download_id}"),
    ]:
        response = getattr(other_client, method)(path)
        assert response.status_code == 404, (method, path)
    assert other_client.get(API).get_json()["data"] == []
    assert other_client.get(f"{API}?user_id=1").get_json()["data"] == []  # the filter is for admins
    # admins see everyone's, filterable
    mine = admin_client.get(f"{API}?status=completed").get_json()["data"]
    assert [d["id"] for d in mine] == [download_id]
    assert admin_client.get(f"{API}/{download_id}/files/0").status_code == 200
    assert row_of(app, download_id).status == "completed"
    assert len(files_under(yt_env)) == 1


def test_anonymous_and_csrf(app, client, user_client, yt_env):
    assert client.get(API).status_code == 401
    assert client.post(API, json={"url": "https://youtu.be/x"}, csrf=False).status_code in (401, 403)
    assert user_client.post(API, json={"url": "https://youtu.be/x"}, csrf=False).status_code == 403
    assert _count(app) == 0


def test_collection_link_from_plex_event(app, user_client, alice, yt_env):

    download_id = _submit(user_client, "https://youtu.be/col").get_json()["data"]["id"]
    with app.app_context():
        on_collection_ready(
            {"user_id": alice.id + 1, "download_id": download_id, "collection_key": "9", "url": "http://x/"}
        )
        assert row_of(app, download_id).collection_url is None  # someone else's event
        handlers = dict(app.extensions["medianest.subscriptions"])["plex.collection.ready"]
        for _plugin, handler in handlers:
            handler(
                {"user_id": alice.id, "download_id": download_id, "collection_key": "42", "url": "http://plex/web#c42"}
            )
    assert user_client.get(f"{API}/{download_id}").get_json()["data"]["collection_url"] == "http://plex/web#c42"
    assert "http://plex/web#c42" in user_client.get(f"/youtube/{download_id}").get_data(as_text=True)
    with app.app_context():
        # The Plex web app's link wins over MediaNest's page; an unsafe one (even protocol-relative) links nowhere.
        web = "https://app.plex.tv/desktop#!/server/abc/details?key=%2Flibrary%2Fcollections%2F42"
        on_collection_ready(
            {"user_id": alice.id, "download_id": download_id, "collection_key": "42", "url": "/x", "plex_url": web}
        )
        assert row_of(app, download_id).collection_url == web
        for unsafe in ("javascript:alert(1)", "//evil.example/"):
            on_collection_ready({"user_id": alice.id, "download_id": download_id, "plex_url": unsafe})
            assert row_of(app, download_id).collection_url is None


def test_page_form_and_dashboard_card(app, user_client, yt_env):
    page = user_client.get("/youtube/")
    assert page.status_code == 200 and 'name="url"' in page.get_data(as_text=True)
    bad = user_client.post("/youtube/", data={"url": "ftp://x/y", "format": "best"})
    assert bad.status_code == 400 and "Only http and https" in bad.get_data(as_text=True)
    good = user_client.post("/youtube/", data={"url": "https://youtu.be/page", "format": "720p"})
    assert good.status_code == 303
    fragment = user_client.get("/youtube/", headers={"HX-Request": "true"})
    assert "HX-Request" in fragment.headers["Vary"] and "<html" not in fragment.get_data(as_text=True)
    card = user_client.get("/dashboard/cards/youtube-downloads").get_data(as_text=True)
    assert "<progress" in card and "waiting in the queue" in card and "of 1.0 GiB" in card


def _wait(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_the_admin_cannot_choose_a_download_folder_the_server_cannot_write(app, admin_client, tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    for folder, said in ((blocked / "downloads", "cannot create the folder"), ("relative/path", "absolute")):
        answer = admin_client.put("/api/v1/admin/services/youtube", json={"values": {"download_root": str(folder)}})
        assert answer.status_code == 400, answer.get_json()
        error = answer.get_json()["error"]
        assert error["code"] == "VALIDATION_ERROR"
        assert said in str(error["details"]), error
    fine = tmp_path / "downloads-here"
    saved = admin_client.put("/api/v1/admin/services/youtube", json={"values": {"download_root": str(fine)}})
    assert saved.status_code == 200, saved.get_json()
    assert fine.is_dir() and not any(fine.iterdir())  # created, and the probe left nothing behind


# ------------------------------------------------------------------ retry beside another download of the URL
def _set_status(app, download_id: int, status: str) -> None:
    """Change a download's status from another connection, as another process would."""

    with app.app_context(), db.engine.begin() as connection:
        connection.execute(db.update(Download).where(Download.id == download_id).values(status=status))


def test_retry_while_another_download_of_the_url_is_active_is_409(app, user_client, yt_env):
    url = "https://www.youtube.com/playlist?list=PLretry"
    failed = _submit(user_client, url).get_json()["data"]["id"]
    _set_status(app, failed, "failed")
    active = _submit(user_client, url).get_json()["data"]["id"]

    response = user_client.post(f"{API}/{failed}/retry")
    assert response.status_code == 409, response.get_data(as_text=True)[:500]
    error = response.get_json()["error"]
    assert error["code"] == "CONFLICT" and error["details"]["download"]["id"] == active
    page = user_client.post(f"/youtube/{failed}/retry", follow_redirects=True)
    assert page.status_code == 200 and "already queued or downloading" in page.get_data(as_text=True)
    assert row_of(app, failed).status == "failed" and row_of(app, active).status in ("queued", "running")


def test_retry_when_the_other_download_ends_at_the_same_moment_is_409(app, user_client, yt_env):
    """The index refuses the retry, and the download it clashed with has finished by the time MediaNest looks."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    url = "https://www.youtube.com/playlist?list=PLrace"
    failed = _submit(user_client, url).get_json()["data"]["id"]
    _set_status(app, failed, "failed")
    other = _submit(user_client, url).get_json()["data"]["id"]
    _set_status(app, other, "completed")

    # Between MediaNest's check and its commit the other download is retried elsewhere (active
    # again); right after the index refused this one, it finishes.
    def other_becomes_active(session, flush_context, instances) -> None:
        _set_status(app, other, "queued")

    def other_finishes(session, previous_transaction) -> None:
        _set_status(app, other, "completed")

    event.listen(Session, "before_flush", other_becomes_active, once=True)
    event.listen(Session, "after_soft_rollback", other_finishes, once=True)
    try:
        response = user_client.post(f"{API}/{failed}/retry")
    finally:
        for name, listener in (("before_flush", other_becomes_active), ("after_soft_rollback", other_finishes)):
            if event.contains(Session, name, listener):
                event.remove(Session, name, listener)
    assert response.status_code == 409, response.get_data(as_text=True)[:500]
    error = response.get_json()["error"]
    assert error["code"] == "CONFLICT" and "try again" in error["message"], error
    assert row_of(app, failed).status == "failed" and row_of(app, other).status == "completed"
    assert user_client.post(f"{API}/{failed}/retry").status_code == 202  # and trying again works


def test_deleting_from_the_page_asks_first(app, user_client, yt_env):
    download_id = _submit(user_client, "https://youtu.be/keep").get_json()["data"]["id"]
    question = user_client.post(f"/youtube/{download_id}/delete")
    assert question.status_code == 200
    page = question.get_data(as_text=True)
    assert "cannot be undone" in page and 'name="confirm" value="yes"' in page
    assert _count(app) == 1  # asked, not deleted
    done = user_client.post(f"/youtube/{download_id}/delete", data={"confirm": "yes"})
    assert done.status_code == 303 and _count(app) == 0


def test_a_list_reads_its_owners_folders_with_its_rows(app, admin_client, alice, bob, yt_env):
    """Each download's full folder comes from the same statement as the rows, stored folder name or not."""
    with app.app_context():
        db.session.add(UserFolder(user_id=alice.id, name="alice-kept"))
        for owner, title in ((alice.id, "Mix"), (bob.id, "Talks"), (alice.id, "Songs")):
            db.session.add(Download(user_id=owner, url=f"https://youtu.be/{title}", status="completed", folder=title))
        db.session.commit()
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        listed = admin_client.get(API).get_json()["data"]
    finally:
        event.remove(engine, "before_cursor_execute", record)
    folders = {d["title"] or d["url"].rsplit("/", 1)[1]: d["folder"] for d in listed}
    assert folders == {
        "Songs": str(yt_env / "alice-kept" / "Songs"),
        "Talks": str(person_folder(yt_env, bob.name, bob.id) / "Talks"),  # no stored name yet: the one it would get
        "Mix": str(yt_env / "alice-kept" / "Mix"),
    }
    on_their_own = [s for s in seen if "youtube_user_folders" in s and "youtube_downloads" not in s]
    assert len(on_their_own) == 1  # bob's, who has no stored name; alice's came with the rows
