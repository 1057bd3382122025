"""Drills: what the household notices when Redis or PostgreSQL goes away, and how
MediaNest comes back without anyone touching it.

* Redis stopped for 30 s under light load, against the production setup
  (gunicorn + gevent, ``medianest worker``, PostgreSQL): pages that don't
  need Redis keep answering (no 5xx at all: rate limits fall back to memory),
  readiness says Redis is down, and after Redis returns readiness is healthy
  again and Socket.IO events from the worker reach the browser again -- all
  by itself.
* Redis stopped for 30 s while a download waits for the worker (prefork and
  beat, as in docker-compose): neither process exits, Redis returns empty, and
  the download completes all the same (the YouTube plugin re-dispatches rows
  whose task was lost).
* PostgreSQL restarted: the very next requests succeed (the pool's checkout
  check finds the connections the restart cut and replaces them:
  ``medianest/database.py``).
* The worker killed mid-job (nothing lost): that drill is the YouTube
  plugin's ``test_worker_killed_mid_download_resumes_and_progress_reaches_only_owner_and_admins``
  in ``tests/test_youtube_live.py`` (SIGKILL of the whole worker during a
  download with Redis and PostgreSQL; the job resumes from its ``.part`` file
  after a new worker starts).  It is not repeated here; the last test below
  only keeps this reference from going stale.

Redis and PostgreSQL are private instances (tests/support/private_services.py),
so stopping them never disturbs the machine's shared services.
"""

from __future__ import annotations

import ast
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

from tests.support.private_services import PrivatePostgres, PrivateRedis
from tests.support.sockets import RecordingClient
from tests.support.waiting import wait_for
from tests.test_youtube_support import feed_fixture  # noqa: F401  (the local playlist server)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

OUTAGE_SECONDS = 30
# Pages and JSON that need only the database (and the limiter, which falls back to memory).
STEADY_PATHS = [
    "/healthz",
    "/",
    "/api/v1/auth/session",
    "/api/v1/youtube/downloads",
    "/api/v1/dashboard/status",
    "/youtube/",
]


def youtube_env(root: Path) -> dict[str, str]:
    return {
        "MEDIANEST_YOUTUBE_ALLOWED_HOSTS": "127.0.0.1",
        "MEDIANEST_YOUTUBE_ALLOWED_PRIVATE": "127.0.0.1",  # the local stand-ins are on loopback
        "MEDIANEST_YOUTUBE_DOWNLOAD_ROOT": str(root),
        "MEDIANEST_YOUTUBE_MIN_FREE_GB": "0",
        "MEDIANEST_YOUTUBE_SOCKET_TIMEOUT": "5",
        "MEDIANEST_RATE_LIMIT_YOUTUBE": "100/hour",
        # light load for a minute and more must not meet the API budget
        "MEDIANEST_RATE_LIMIT_API": "10000/minute",
    }


def readiness(server) -> tuple[int, dict]:
    try:
        response = requests.get(server.url + "/api/v1/health", timeout=10)
    except requests.RequestException as exc:
        return 0, {"error": str(exc)}
    body = response.json()
    return response.status_code, body.get("data") or body.get("error", {}).get("details") or body


class LightLoad:
    """One signed-in client walking through ``paths`` about ten times a second."""

    def __init__(self, server, http: requests.Session, paths: list[str]) -> None:
        self.server, self.http, self.paths = server, http, paths
        self.results: list[tuple[float, str, int | str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            path = self.paths[i % len(self.paths)]
            i += 1
            try:
                status: int | str = self.http.get(self.server.url + path, timeout=10).status_code
            except requests.RequestException as exc:
                status = type(exc).__name__
            self.results.append((time.monotonic(), path, status))
            self._stop.wait(0.1)

    def __enter__(self) -> LightLoad:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def between(self, start: float, end: float) -> Counter:
        return Counter(status for at, _path, status in self.results if start <= at <= end)


def submit(http: requests.Session, server, url: str) -> int:
    response = http.post(server.url + "/api/v1/youtube/downloads", json={"url": url, "format": "best"}, timeout=15)
    assert response.status_code == 201, response.text
    return response.json()["data"]["id"]


def test_redis_stopped_for_30_seconds_under_light_load(live_server_factory, pg_databases, feed, tmp_path):
    feed.add_playlist("before", "Before", [("One", 30_000)])
    feed.add_playlist("after", "After", [("Two", 30_000)])
    with PrivateRedis() as redis_server:
        env = {**youtube_env(tmp_path / "downloads"), "REDIS_URL": redis_server.url}
        server = live_server_factory(backend="postgresql", env=env)
        assert "gunicorn" in server.log() or "Booting worker" in server.log(), "not the production web process"
        worker = live_server_factory.process(["worker", "--pool", "threads", "-c", "2"], server, "worker")
        worker.wait_for_log("ready", timeout=60)
        wait_for(lambda: readiness(server)[0] == 200, 30, what="healthy before the drill")

        http = server.session()
        browser = RecordingClient(server.url, http)
        browser.sio.reconnection = True  # as the page's socket.io client does
        browser.connect()
        try:
            first = submit(http, server, feed.url_for_playlist("before"))
            browser.wait_for("youtube.download.completed", lambda d: d["download_id"] == first, timeout=60)

            with LightLoad(server, http, STEADY_PATHS) as load:
                time.sleep(2)
                redis_server.stop()
                down_at = time.monotonic()
                time.sleep(5)
                status, body = readiness(server)
                assert status == 503 and body["checks"]["redis"]["status"] != "up", (status, body)
                time.sleep(OUTAGE_SECONDS - 5)
                redis_server.start()  # same port, empty (as after a crash without persistence)
                up_at = time.monotonic()
                wait_for(lambda: readiness(server)[0] == 200, 30, what="readiness healthy again after Redis returned")
                healthy_after = time.monotonic() - up_at
                time.sleep(2)

            during = load.between(down_at, up_at)
            everything = Counter(status for _at, _path, status in load.results)
            failed = {s: n for s, n in everything.items() if not (isinstance(s, int) and s < 500)}
            # light load really ran through the outage, and nothing failed: no 5xx, no timeouts
            assert sum(during.values()) >= OUTAGE_SECONDS * 3, during
            assert failed == {}, (failed, [r for r in load.results if not (isinstance(r[2], int) and r[2] < 500)][:10])
            assert set(during) == {200}, during

            # events from the worker reach the browser again (through Redis' pub/sub, which
            # the web process re-subscribes to by itself)
            second = submit(http, server, feed.url_for_playlist("after"))
            done = browser.wait_for("youtube.download.completed", lambda d: d["download_id"] == second, timeout=90)
            assert done["download_id"] == second
            print(
                f"Redis drill: {sum(during.values())} requests during the {OUTAGE_SECONDS} s outage {dict(during)}, "
                f"all {dict(everything)}; healthy {healthy_after:.1f} s after Redis returned, "
                f"worker event received {time.monotonic() - up_at:.1f} s after"
            )
            assert http.get(f"{server.url}/api/v1/youtube/downloads/{second}", timeout=10).json()["data"]["status"] == (
                "completed"
            )
        finally:
            browser.close()
            worker.stop()
            server.stop()


def test_postgresql_restarted_next_requests_succeed(live_server_factory, tmp_path):
    with PrivatePostgres() as cluster:
        url = cluster.create_database("medianest")
        server = live_server_factory(redis=True, env={"DATABASE_URL": url, "MEDIANEST_RATE_LIMIT_API": "10000/minute"})
        http = server.session()
        paths = ["/api/v1/auth/session", "/api/v1/youtube/downloads", "/", "/api/v1/admin/users"]
        for path in paths:  # every pooled connection is in use once before the restart
            assert http.get(server.url + path, timeout=10).status_code == 200, path

        cluster.restart()  # -m fast: the server's open connections are cut

        answers = {path: http.get(server.url + path, timeout=10) for path in paths}
        assert {path: r.status_code for path, r in answers.items()} == {path: 200 for path in paths}
        assert answers["/api/v1/auth/session"].json()["data"]["username"] == "admin"
        assert readiness(server)[0] == 200
        # a write goes through too
        token = http.post(server.url + "/api/v1/auth/tokens", json={"name": "after the restart"}, timeout=10)
        assert token.status_code == 201, token.text
        assert "Traceback" not in server.log()
        server.stop()


def test_worker_killed_mid_job_drill_lives_with_the_youtube_tests():
    """The SIGKILL drill is the YouTube plugin's; make sure the reference above stays true."""
    source = (Path(__file__).parent / "test_youtube_live.py").read_text()
    tests = {
        node.name: ast.get_source_segment(source, node)
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }
    drill = tests.get("test_worker_killed_mid_download_resumes_and_progress_reaches_only_owner_and_admins")
    assert drill is not None, "the worker-killed drill moved: update tests/test_drills.py's docstring"
    assert "SIGKILL" in drill and 'backend="postgresql"' in drill and "redis=True" in drill


def test_redis_stopped_for_30_seconds_while_a_download_is_queued(live_server_factory, pg_databases, feed, tmp_path):
    """The production worker (prefork, as docker-compose runs it) outlives Redis and finishes the download."""
    feed.add_playlist("busy", "Busy", [("Long", 300_000)])
    feed.add_playlist("queued", "Queued", [("One", 30_000), ("Two", 30_000)])
    feed.bytes_per_second = 30_000  # the first download keeps the worker's one slot for about ten seconds
    with PrivateRedis() as redis_server:
        env = {**youtube_env(tmp_path / "downloads"), "REDIS_URL": redis_server.url}
        server = live_server_factory(backend="postgresql", env=env)
        worker = live_server_factory.process(["worker", "--pool", "prefork", "-c", "1"], server, "worker")
        worker.wait_for_log("ready", timeout=60)
        beat = live_server_factory.process(["beat"], server, "beat")
        http = server.session()
        try:
            busy = submit(http, server, feed.url_for_playlist("busy"))
            queued = submit(http, server, feed.url_for_playlist("queued"))
            time.sleep(1)
            before = http.get(f"{server.url}/api/v1/youtube/downloads/{queued}", timeout=10).json()["data"]
            assert before["status"] in ("queued", "running") and before["percent"] in (0, None), before
            redis_server.stop()
            time.sleep(OUTAGE_SECONDS)
            assert worker.proc.poll() is None, worker.log()[-3000:]
            redis_server.start()  # empty: what the queue held is gone too
            deadline = time.monotonic() + 240
            statuses: dict[int, str] = {}
            while time.monotonic() < deadline:
                for download_id in (busy, queued):
                    body = http.get(f"{server.url}/api/v1/youtube/downloads/{download_id}", timeout=10).json()
                    statuses[download_id] = body["data"]["status"]
                if all(s in ("completed", "failed") for s in statuses.values()):
                    break
                time.sleep(1)
            assert statuses == {busy: "completed", queued: "completed"}, (statuses, worker.log()[-3000:])
            assert worker.proc.poll() is None, "the worker exited: " + worker.log()[-3000:]
            assert beat.proc.poll() is None, "beat exited: " + beat.log()[-3000:]
        finally:
            beat.stop()
            worker.stop()
            server.stop()
