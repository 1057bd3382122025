"""The Uptime Kuma stand-in answers like the captured 1.23.16 server."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.standins.base import CONTRACTS as BASE_CONTRACTS
from tests.standins.uptime_kuma import DOWN, MAINTENANCE, PENDING, UP, UptimeKumaStandin

CONTRACTS = BASE_CONTRACTS / "uptime-kuma"  # captured from a real Uptime Kuma 1.23.16
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$")
BYPASS = {"x-apicache-bypass": "true"}


def captured(name: str) -> Any:
    path = CONTRACTS / name
    return path.read_text() if name.endswith(".txt") else json.loads(path.read_text())


def shape(value: Any) -> Any:
    """The structure of a JSON value: key names and value types, not values."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        shapes = []
        for item in value:
            s = shape(item)
            if s not in shapes:
                shapes.append(s)
        return shapes
    return type(value).__name__


@pytest.fixture
def kuma() -> Iterator[UptimeKumaStandin]:
    standin = UptimeKumaStandin(slug="household")
    standin.start()
    yield standin
    standin.stop()


def test_status_page_has_the_captured_shape(kuma: UptimeKumaStandin) -> None:
    resp = requests.get(kuma.status_page_url, timeout=5)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    expected = captured("status-page.json")
    assert shape(body) == shape(expected)
    # key order too, as JSON.stringify wrote it
    assert list(body) == list(expected)
    assert list(body["config"]) == list(expected["config"])
    assert body["config"]["slug"] == "household"
    assert body["publicGroupList"] == expected["publicGroupList"]  # seeded like the capture


def test_heartbeats_have_the_captured_shape(kuma: UptimeKumaStandin) -> None:
    body = requests.get(kuma.heartbeat_url, timeout=5).json()
    expected = captured("heartbeat.json")
    assert list(body) == ["heartbeatList", "uptimeList"]
    assert set(body["heartbeatList"]) == set(expected["heartbeatList"]) == {"1", "2"}
    assert body["uptimeList"] == expected["uptimeList"] == {"1_24": 1, "2_24": 0}
    for mid, beats in body["heartbeatList"].items():
        assert [list(b) for b in beats] == [list(b) for b in expected["heartbeatList"][mid]]
        for got, want in zip(beats, expected["heartbeatList"][mid]):
            assert got["status"] == want["status"]
            assert type(got["ping"]) is type(want["ping"])  # int when up, null when down
            assert TIME_RE.match(got["time"])
        assert [b["time"] for b in beats] == sorted(b["time"] for b in beats)  # oldest first


def test_unknown_slug(kuma: UptimeKumaStandin) -> None:
    # heartbeat endpoint: no monitor belongs to the slug -> empty lists
    body = requests.get(f"{kuma.url}/api/status-page/heartbeat/nope", timeout=5).json()
    assert body == {"heartbeatList": {}, "uptimeList": {}}
    # status page endpoint: never answers, the client's read timeout ends it
    t0 = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{kuma.url}/api/status-page/nope", timeout=1)
    assert 0.9 < time.monotonic() - t0 < 3
    # ... also with the cache bypassed
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{kuma.url}/api/status-page/nope", headers=BYPASS, timeout=(1, 0.5))


def test_stop_releases_a_hanging_request_and_refuses(kuma: UptimeKumaStandin) -> None:
    import threading

    errors: list[BaseException] = []

    def client() -> None:
        try:
            requests.get(f"{kuma.url}/api/status-page/nope", timeout=30)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    thread = threading.Thread(target=client)
    thread.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    kuma.stop()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert time.monotonic() - t0 < 3
    assert errors and isinstance(errors[0], requests.exceptions.ConnectionError)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(kuma.heartbeat_url, timeout=2)
    port = kuma.port
    kuma.start()
    assert kuma.port == port
    assert requests.get(kuma.heartbeat_url, timeout=2).status_code == 200


def test_answers_are_cached_unless_bypassed(kuma: UptimeKumaStandin) -> None:
    first = requests.get(kuma.heartbeat_url, timeout=5)
    assert first.headers["Cache-Control"] == "max-age=60"
    kuma.set_monitor_status(2, UP, "back")
    stale = requests.get(kuma.heartbeat_url, timeout=5)
    assert stale.content == first.content
    assert kuma.cache_hits == 1
    fresh = requests.get(kuma.heartbeat_url, headers=BYPASS, timeout=5)
    assert fresh.json()["heartbeatList"]["2"][-1] == {
        "status": UP, "time": fresh.json()["heartbeatList"]["2"][-1]["time"], "msg": "back", "ping": 10,
    }  # fmt: skip
    assert "Cache-Control" not in fresh.headers
    # a bypassed answer is not stored: the cache still holds the old one
    assert requests.get(kuma.heartbeat_url, timeout=5).content == first.content

    page = requests.get(kuma.status_page_url, timeout=5)
    assert page.headers["Cache-Control"] == "max-age=300"
    kuma.add_monitor(3, "plex", "Media")
    assert requests.get(kuma.status_page_url, timeout=5).content == page.content
    groups = requests.get(kuma.status_page_url, headers=BYPASS, timeout=5).json()["publicGroupList"]
    assert [g["name"] for g in groups] == ["Services", "Media"]
    assert groups[1]["monitorList"] == [{"id": 3, "name": "plex", "sendUrl": 0, "type": "http"}]

    kuma.clear_cache()  # same as the TTL running out
    assert requests.get(kuma.heartbeat_url, timeout=5).json()["heartbeatList"]["2"][-1]["msg"] == "back"


def test_set_monitor_status_keeps_the_last_50_oldest_first(kuma: UptimeKumaStandin) -> None:
    for i in range(60):
        kuma.set_monitor_status(1, [UP, DOWN, PENDING, MAINTENANCE][i % 4], f"beat {i}")
    beats = requests.get(kuma.heartbeat_url, headers=BYPASS, timeout=5).json()["heartbeatList"]["1"]
    assert len(beats) == 50
    assert [b["msg"] for b in beats] == [f"beat {i}" for i in range(10, 60)]
    assert [b["time"] for b in beats] == sorted(b["time"] for b in beats)
    assert {b["status"] for b in beats} == {0, 1, 2, 3}
    with pytest.raises(ValueError):
        kuma.set_monitor_status(1, 4)


def test_metrics_need_basic_auth_then_api_key(kuma: UptimeKumaStandin) -> None:
    resp = requests.get(kuma.metrics_url, timeout=5)
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"] == "Basic"
    assert requests.get(kuma.metrics_url, auth=("admin", "wrong"), timeout=5).status_code == 401
    resp = requests.get(kuma.metrics_url, auth=("admin", "admin-password"), timeout=5)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    expected = captured("metrics.txt")
    want = [ln for ln in expected.splitlines() if ln.startswith(("monitor_status{", "monitor_response_time{"))]
    got = [ln for ln in resp.text.splitlines() if ln.startswith(("monitor_status{", "monitor_response_time{"))]
    assert sorted(got) == sorted(want)
    assert 'app_version{version="1.23.16",major="1",minor="23",patch="16"} 1' in resp.text

    key = kuma.add_api_key(1, "s3cret")
    assert key == "uk1_s3cret"
    assert requests.get(kuma.metrics_url, auth=("admin", "admin-password"), timeout=5).status_code == 401
    assert requests.get(kuma.metrics_url, auth=("", "uk1_wrong"), timeout=5).status_code == 401
    assert requests.get(kuma.metrics_url, auth=("", key), timeout=5).status_code == 200


def test_fault_modes(kuma: UptimeKumaStandin) -> None:
    kuma.set_malformed(True)
    resp = requests.get(kuma.heartbeat_url, timeout=5)
    assert resp.status_code == 200
    with pytest.raises(ValueError):
        resp.json()
    with pytest.raises(ValueError):
        requests.get(kuma.status_page_url, timeout=5).json()
    kuma.set_malformed(False)

    kuma.set_huge(True)
    resp = requests.get(kuma.heartbeat_url, timeout=5)
    assert len(resp.content) > 5 * 1024 * 1024
    assert set(resp.json()) == {"heartbeatList", "uptimeList"}  # still valid JSON
    assert len(requests.get(kuma.status_page_url, timeout=5).content) > 5 * 1024 * 1024
    kuma.set_huge(False)

    kuma.set_hang(True)
    for url in (kuma.heartbeat_url, kuma.status_page_url, kuma.metrics_url):
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.get(url, timeout=(1, 0.5))
    kuma.set_hang(False)
    assert requests.get(kuma.heartbeat_url, timeout=5).status_code == 200
