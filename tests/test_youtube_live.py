"""The YouTube plugin in running servers: a worker killed mid-download, a restart in
embedded mode, who receives progress over Socket.IO, and the page in Chromium."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import browser_sign_in
from tests.support.apps import add_local_users
from tests.support.waiting import wait_for
from tests.test_youtube_support import feed_fixture, files_under, person_folder  # noqa: F401

API = "/api/v1/youtube/downloads"
PASSWORD = "a-long-password-for-tests"

pytestmark = pytest.mark.slow


def youtube_env(root: Path) -> dict[str, str]:
    return {
        "MEDIANEST_YOUTUBE_ALLOWED_HOSTS": "127.0.0.1",
        "MEDIANEST_YOUTUBE_ALLOWED_PRIVATE": "127.0.0.1",  # the local stand-ins are on loopback
        "MEDIANEST_YOUTUBE_DOWNLOAD_ROOT": str(root),
        "MEDIANEST_YOUTUBE_SOCKET_TIMEOUT": "5",
        "MEDIANEST_YOUTUBE_MIN_FREE_GB": "0",
        # the tests poll the download's state five times a second, for up to a minute and a half
        "MEDIANEST_RATE_LIMIT_API": "10000/minute",
    }


def download_state(http: requests.Session, server, download_id: int) -> dict:
    response = http.get(f"{server.url}{API}/{download_id}", timeout=10)
    assert response.status_code == 200, (response.status_code, response.text[:500])
    return response.json()["data"]


class EventRecorder:
    """A Socket.IO client signed in through the session cookie, recording youtube events."""

    def __init__(self, server, http: requests.Session) -> None:
        import socketio

        self.events: list[tuple[str, dict]] = []
        self.client = socketio.Client(reconnection=False)

        @self.client.on("*")
        def _any(event, data):
            if event.startswith("youtube."):
                self.events.append((event, data))

        cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
        self.client.connect(server.url, headers={"Cookie": cookie}, wait_timeout=10)

    def names(self, download_id: int) -> list[str]:
        return [name for name, data in self.events if data.get("download_id") == download_id]

    def close(self) -> None:
        self.client.disconnect()


@pytest.mark.redis
@pytest.mark.postgres
def test_worker_killed_mid_download_resumes_and_progress_reaches_only_owner_and_admins(
    live_server_factory, feed, tmp_path
):
    root = tmp_path / "downloads"
    feed.bytes_per_second = 400_000
    entries = [("Alpha", 500_000), ("Beta", 900_000), ("Gamma", 400_000)]
    feed.add_playlist("killed", "Kill Test", entries)
    server = live_server_factory(backend="postgresql", redis=True, env=youtube_env(root))
    users = add_local_users(server, tmp_path, PASSWORD, "alice", "bob")
    worker = live_server_factory.process(["worker", "--pool", "prefork", "-c", "1"], server, "worker")
    worker.wait_for_log("ready", timeout=60)

    alice = server.session("alice", PASSWORD)
    listeners = {
        name: EventRecorder(server, server.session(*creds))
        for name, creds in {"alice": ("alice", PASSWORD), "bob": ("bob", PASSWORD), "admin": ("admin",)}.items()
    }
    try:
        response = alice.post(
            server.url + API, json={"url": feed.url_for_playlist("killed"), "format": "best"}, timeout=10
        )
        assert response.status_code == 201, response.text
        download_id = response.json()["data"]["id"]
        folder = person_folder(root, "Alice", users["alice"]) / "Kill Test"

        # kill the whole worker (main process and its child) while the second entry is half done
        wait_for(
            lambda: (
                download_state(alice, server, download_id)["entry_index"] == 2
                and feed.bytes_served("killed-2") > 300_000
            ),
            what="the second entry under way",
        )
        worker.kill(signal.SIGKILL)
        partial = [p for p in files_under(folder) if p.name.endswith(".part")]
        assert partial, "nothing partial on disk when the worker died"
        assert download_state(alice, server, download_id)["status"] == "running"

        live_server_factory.process(["worker", "--pool", "prefork", "-c", "1"], server, "worker2")
        done = wait_for(
            lambda: (s := download_state(alice, server, download_id))["status"] in ("completed", "failed") and s,
            timeout=90,
            what="the download finished after the restart",
        )
        assert done["status"] == "completed", done
        names = sorted(p.name for p in files_under(root))
        assert names == [
            "1 - Alpha [killed-1].mp4",
            "2 - Beta [killed-2].mp4",
            "3 - Gamma [killed-3].mp4",
        ] or names == ["01 - Alpha [killed-1].mp4", "02 - Beta [killed-2].mp4", "03 - Gamma [killed-3].mp4"]
        for path in files_under(root):
            entry_id = path.name.split("[")[1].split("]")[0]
            assert path.read_bytes() == feed.content_of(entry_id)
        assert [f["name"] for f in done["files"]] == names
        # the interrupted entry was continued from its .part, not fetched again from the start
        assert any(r.startswith("bytes=") and r != "bytes=0-" for r in feed.ranges_seen("killed-2"))

        time.sleep(1.0)  # let the last events arrive
        for name in ("alice", "admin"):
            seen = listeners[name].names(download_id)
            assert "youtube.download.progress" in seen and seen[-1] == "youtube.download.completed", (name, seen)
        assert listeners["bob"].events == []
        completed = [d for n, d in listeners["alice"].events if n == "youtube.download.completed"][-1]
        assert completed["folder"] == str(folder)
        assert sorted(completed["files"]) == [str(folder / n) for n in names]
    finally:
        for listener in listeners.values():
            listener.close()


def test_embedded_restart_resumes_the_download(live_server_factory, feed, tmp_path):
    root = tmp_path / "downloads"
    feed.bytes_per_second = 300_000
    feed.add_playlist("restart", "Restart", [("One", 600_000), ("Two", 300_000)])
    server = live_server_factory(env=youtube_env(root))
    http = server.session()
    download_id = http.post(server.url + API, json={"url": feed.url_for_playlist("restart")}, timeout=10).json()[
        "data"
    ]["id"]
    wait_for(lambda: feed.bytes_served("restart-1") > 200_000, what="the first entry under way")

    os.killpg(server.proc.pid, signal.SIGKILL)  # a crash, not a clean stop
    server.proc.wait(timeout=10)
    server.proc = None
    server._log.close()
    assert any(p.name.endswith(".part") for p in files_under(root))
    server.start()

    http = server.session()
    done = wait_for(
        lambda: (s := download_state(http, server, download_id))["status"] in ("completed", "failed") and s,
        timeout=60,
        what="the download finished after the restart",
    )
    assert done["status"] == "completed", done
    assert [p.name for p in files_under(root)] == ["01 - One [restart-1].mp4", "02 - Two [restart-2].mp4"]
    assert (
        person_folder(root, "Administrator", 1) / "Restart" / "01 - One [restart-1].mp4"
    ).read_bytes() == feed.content_of("restart-1")


@pytest.mark.browser
def test_browser_submits_and_watches_the_progress_bar(live_server_factory, feed, tmp_path, page):
    root = tmp_path / "downloads"
    feed.bytes_per_second = 250_000
    feed.add_playlist("watch", "Watch Me", [("First", 400_000), ("Second", 400_000)])
    server = live_server_factory(env=youtube_env(root))
    browser_sign_in(page, server)
    page.goto(server.url + "/youtube/")
    page.fill("input[name=url]", feed.url_for_playlist("watch"))
    page.select_option("select[name=format]", "720p")
    page.click("#yt-new button[type=submit]")
    page.wait_for_url(re.compile(r".*/youtube/\d+$"))
    page.wait_for_function("() => document.body !== null && document.body.dataset.live === '1'")

    values: list[float] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        value = page.eval_on_selector("#yt-progress", "el => el.value")
        if not values or value != values[-1]:
            values.append(value)
        if value >= 100:
            break
        time.sleep(0.1)
    assert values[-1] == 100, values
    assert any(0 < v < 100 for v in values), f"the bar never showed a value between 0 and 100: {values}"
    assert values == sorted(values), values
    page.wait_for_selector("#yt-files li")
    assert page.locator("#yt-files li").count() == 2
    assert "01 - First [watch-1].mp4" in page.inner_text("#yt-files")
    assert page.inner_text("#yt-status") == "completed"
    # a reload shows the same state, from the database
    page.reload()
    assert page.eval_on_selector("#yt-progress", "el => el.value") == 100
    assert page.locator("#yt-files li").count() == 2
