"""Both running modes: a task queued before a restart runs after it; the embedded server's connections."""

from __future__ import annotations

import http.client
import signal
import statistics
import time

import pytest
import requests

from tests.support.sockets import RecordingClient
from tests.support.waiting import wait_for
from tests.test_youtube_live import API, download_state, youtube_env
from tests.test_youtube_support import feed_fixture, files_under  # noqa: F401

pytestmark = [pytest.mark.plugins("cardtest")]


def _count(server, http) -> int:
    return http.get(server.url + "/api/v1/cardtest/count", timeout=10).json()["data"]["count"]


def _wait_count(server, http, at_least: int, timeout: float = 40) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = _count(server, http)
        if value >= at_least:
            return value
        time.sleep(0.3)
    raise AssertionError(f"count stayed below {at_least}")


def test_embedded_task_queued_before_restart_runs_after_it(live_server_factory, installed_plugins):
    """Embedded: the queue lives in the instance folder; the in-process worker drains it after a restart."""
    server = live_server_factory(plugins=installed_plugins, env={"MEDIANEST_EMBEDDED_WORKER": "false"})
    http = server.session()
    assert http.post(server.url + "/api/v1/cardtest/queue", timeout=10).status_code == 202
    time.sleep(1.0)
    assert _count(server, http) == 0  # nobody consumed it: no worker in this process
    server.stop()
    server.env["MEDIANEST_EMBEDDED_WORKER"] = "true"
    server.start()
    http = server.session()
    assert _wait_count(server, http, 1) >= 1


@pytest.mark.slow
def test_production_task_queued_while_no_worker_runs_after_worker_starts(live_server_factory, installed_plugins):
    server = live_server_factory(plugins=installed_plugins, redis=True)
    http = server.session()
    assert http.post(server.url + "/api/v1/cardtest/queue", timeout=10).status_code == 202
    server.stop()  # the web process restarts too; the task waits in Redis
    server.start()
    http = server.session()
    assert _count(server, http) == 0
    worker = live_server_factory.process(["worker", "--pool", "threads", "-c", "1"], server, "worker")
    worker.wait_for_log("ready", timeout=60)
    assert _wait_count(server, http, 1) == 1
    assert requests.get(server.url + "/healthz", timeout=5).ok


def test_embedded_server_runs_the_beat_schedule_in_process(live_server_factory, installed_plugins):
    server = live_server_factory(plugins=installed_plugins)
    http = server.session()
    assert _wait_count(server, http, 2, timeout=30) >= 2
    health = http.get(server.url + "/api/v1/health", timeout=10).json()["data"]
    assert health["services"]["cardtest"]["status"] == "online"


def test_embedded_server_answers_fast_on_a_kept_alive_connection(live_server_factory, installed_plugins):
    """Browsers and htmx reuse one connection; every request on it, not only the first, must answer at once.

    With Nagle's algorithm on, the body of each response after the first waited
    for the client's delayed ACK of its headers: about 40 ms per request.
    """
    server = live_server_factory(plugins=installed_plugins)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", "/healthz")
    first = connection.getresponse()
    assert first.status == 200 and first.read()
    local_port = connection.sock.getsockname()[1]
    timings = []
    for _ in range(20):
        started = time.perf_counter()
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        assert response.status == 200 and response.read()
        timings.append((time.perf_counter() - started) * 1000)
    assert connection.sock.getsockname()[1] == local_port, "the connection was not kept alive"
    connection.close()
    assert statistics.median(timings) < 15, timings


def test_embedded_server_serves_websocket_and_stops_cleanly_on_ctrl_c(live_server_factory, installed_plugins):
    server = live_server_factory(plugins=installed_plugins)
    http = server.session()
    client = RecordingClient(server.url, http).connect(transports=["websocket"])
    assert client.sio.transport() == "websocket"
    client.sio.disconnect()
    started = time.monotonic()
    server.proc.send_signal(signal.SIGINT)
    assert server.proc.wait(timeout=15) == 0
    assert time.monotonic() - started < 10
    log = server.log()
    assert "stopping the embedded server" in log
    assert "Traceback" not in log, log[-3000:]


@pytest.mark.slow
def test_ctrl_c_during_a_download_stops_at_once_and_the_download_resumes(live_server_factory, feed, tmp_path):
    """The download is not waited for (minutes, for a big playlist); the next start picks it up again."""
    root = tmp_path / "downloads"
    feed.bytes_per_second = 200_000
    feed.add_playlist("ctrlc", "Ctrl C", [("Long", 2_000_000)])  # about 10 s at that rate
    server = live_server_factory(env=youtube_env(root))
    http = server.session()
    made = http.post(server.url + API, json={"url": feed.url_for_playlist("ctrlc")}, timeout=10)
    download_id = made.json()["data"]["id"]
    wait_for(lambda: feed.bytes_served("ctrlc-1") > 200_000, what="the download under way")

    started = time.monotonic()
    server.proc.send_signal(signal.SIGINT)
    assert server.proc.wait(timeout=30) == 0
    assert time.monotonic() - started < 5, "Ctrl-C waited for the download"
    assert "stopped with 1 task(s) running" in server.log()
    server.proc = None
    server._log.close()

    server.start()
    http = server.session()
    done = wait_for(
        lambda: (state := download_state(http, server, download_id))["status"] in ("completed", "failed") and state,
        timeout=90,
        what="the download finished after the restart",
    )
    assert done["status"] == "completed", done
    [found] = files_under(root)  # in the person's own folder, under the playlist's title
    assert found.name == "01 - Long [ctrlc-1].mp4" and found.parent.name == "Ctrl C"
    assert found.read_bytes() == feed.content_of("ctrlc-1")
