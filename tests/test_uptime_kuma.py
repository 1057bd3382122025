"""The Uptime Kuma plugin against the 1.23.16 stand-in: monitors, card, API, events, bad answers, settings."""

from __future__ import annotations

import threading

import pytest

from medianest.http import reset_clients
from medianest.plugins import HealthCheck, HealthResult, hookimpl
from tests.standins.base import Blackhole, Standin, closed_port
from tests.standins.uptime_kuma import DOWN, UP, UptimeKumaStandin


@pytest.fixture(autouse=True)
def _fresh_clients():
    reset_clients()
    yield
    reset_clients()


@pytest.fixture
def kuma(monkeypatch):
    standin = UptimeKumaStandin(slug="household", hang_seconds=30)
    standin.start()
    monkeypatch.setenv("MEDIANEST_UPTIME_KUMA_URL", standin.url)
    monkeypatch.setenv("MEDIANEST_UPTIME_KUMA_SLUG", "household")
    monkeypatch.setenv("MEDIANEST_UPTIME_KUMA_READ_TIMEOUT", "1")
    yield standin
    standin.stop()


def run_checks(app):
    from medianest.status import run_checks as run

    with app.app_context():
        return run()


def status_of(app, service="uptime_kuma"):
    from medianest.extensions import db
    from medianest.models import ServiceStatus

    with app.app_context():
        row = db.session.get(ServiceStatus, service)
        return row.to_public() if row else None


def capture_events(app, name="service.status"):
    seen = []
    app.extensions["medianest.subscriptions"].setdefault(name, []).append(("core", seen.append))
    return seen


def test_check_reads_the_status_page_and_the_card_and_api_show_the_monitors(app, kuma, user_client):
    results = run_checks(app)
    assert results["uptime_kuma"].status == "online", results["uptime_kuma"]
    assert results["uptime_kuma"].details["monitors"] == 2

    paths = [r.path for r in kuma.requests]
    assert "/api/status-page/household" in paths and "/api/status-page/heartbeat/household" in paths
    assert all(r.headers.get("X-Apicache-Bypass") == "true" for r in kuma.requests)

    body = user_client.get("/api/v1/uptime/monitors").get_json()
    assert body["success"] is True
    data = body["data"]
    assert data["status"] == "online" and data["stale"] is False and data["configured"] is True
    assert [g["name"] for g in data["groups"]] == ["Services"]
    monitors = {m["name"]: m for m in data["groups"][0]["monitors"]}
    assert monitors["medianest-up"]["status"] == "up" and monitors["medianest-up"]["uptime_24h"] == 100
    assert monitors["medianest-down"]["status"] == "down" and monitors["medianest-down"]["uptime_24h"] == 0
    assert len(monitors["medianest-up"]["beats"]) == 2
    assert monitors["medianest-up"]["beats"][-1]["time"].endswith("Z")  # UTC made explicit
    assert data["counts"]["up"] == 1 and data["counts"]["down"] == 1

    page = user_client.get("/?cards=inline").get_data(as_text=True)
    assert (
        'id="card-uptime-kuma"' in page
        and 'hx-trigger="service.status from:body, socket.reconnected from:body"' in page
    )
    assert 'data-monitor="1" data-status="up"' in page and 'data-monitor="2" data-status="down"' in page
    assert 'class="beats"' in page and "beat-down" in page
    assert 'data-service="uptime_kuma" data-status="online"' in page  # the core Services card
    assert "style=" not in page

    fragment = user_client.get("/dashboard/cards/uptime-kuma", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and 'data-kuma-status="online"' in fragment.get_data(as_text=True)


def test_a_monitor_that_changes_is_published_within_one_check(app, kuma):
    run_checks(app)
    events = capture_events(app)
    kuma.set_monitor_status(1, DOWN, "connect ECONNREFUSED")
    run_checks(app)
    monitor_events = [e for e in events if e["service"] == "uptime_kuma:1"]
    assert len(monitor_events) == 1
    assert monitor_events[0]["status"] == "offline" and monitor_events[0]["monitor_status"] == "down"
    assert monitor_events[0]["error"] == "connect ECONNREFUSED" and monitor_events[0]["user_id"] is None
    assert not [e for e in events if e["service"] == "uptime_kuma:2"]  # unchanged: not published

    events.clear()
    kuma.set_monitor_status(1, UP, ping=7)
    run_checks(app)
    assert [(e["service"], e["status"]) for e in events] == [("uptime_kuma:1", "online")]


class FastService:
    """Another plugin's check that answers at once."""

    @hookimpl
    def health_checks(self):
        return [HealthCheck(name="fast", check=lambda: HealthResult("online", 1.0), display_name="Fast service")]


@pytest.mark.sqlite_only
def test_unknown_slug_times_out_the_card_says_so_and_nothing_else_waits(app, kuma, user_client, monkeypatch):
    monkeypatch.setenv("MEDIANEST_UPTIME_KUMA_SLUG", "no-such-page")
    monkeypatch.setenv("MEDIANEST_UPTIME_KUMA_READ_TIMEOUT", "3")
    app.extensions["medianest.plugins"].register(FastService(), name="fast")

    worker = threading.Thread(target=run_checks, args=(app,))
    worker.start()
    try:
        # Wait until the status-page request is hanging inside Uptime Kuma.
        for _ in range(100):
            if any(r.path == "/api/status-page/no-such-page" for r in kuma.requests):
                break
            worker.join(0.05)
        assert worker.is_alive(), "the check should still be waiting on the unknown slug"
        # Meanwhile the other service's result is already recorded and the pages answer.
        for _ in range(100):
            if status_of(app, "fast"):
                break
            worker.join(0.02)
        assert status_of(app, "fast")["status"] == "online"
        assert worker.is_alive()
        assert user_client.get("/api/v1/dashboard/status").status_code == 200
        assert user_client.get("/").status_code == 200
        assert worker.is_alive(), "the pages answered while the check was still hanging"
    finally:
        worker.join(30)

    status = status_of(app)
    assert status["status"] == "offline"
    assert "timed out" in status["error"] and "unknown slug" in status["error"]
    card = user_client.get("/dashboard/cards/uptime-kuma", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Timed out:" in card and "no-such-page" in card


@pytest.mark.sqlite_only
def test_malformed_and_huge_answers_are_errors_for_uptime_kuma_only(app, kuma, user_client):
    kuma.set_malformed(True)
    results = run_checks(app)
    assert results["uptime_kuma"].status == "offline"
    assert "not JSON" in results["uptime_kuma"].error

    kuma.set_malformed(False)
    kuma.set_huge(True)
    results = run_checks(app)
    assert results["uptime_kuma"].status == "offline"
    assert "larger than" in results["uptime_kuma"].error

    kuma.set_huge(False)
    assert run_checks(app)["uptime_kuma"].status == "online"
    assert user_client.get("/").status_code == 200
    monitors = user_client.get("/api/v1/uptime/monitors").get_json()["data"]
    assert monitors["status"] == "online" and len(monitors["groups"][0]["monitors"]) == 2


@pytest.mark.sqlite_only
def test_an_answer_of_the_wrong_shape_is_a_bad_answer(app, kuma):
    from medianest_uptime_kuma.kuma import parse

    from medianest.http import ServiceBadAnswer

    with pytest.raises(ServiceBadAnswer):
        parse({"hello": "world"}, {"heartbeatList": {}})
    with pytest.raises(ServiceBadAnswer):
        parse({"publicGroupList": []}, ["not", "a", "dict"])
    # Odd but valid pieces are survived: unknown statuses, missing beats, bad uptime values.
    data = parse(
        {"publicGroupList": [{"name": "G", "monitorList": [{"id": 9, "name": "x"}, "junk"]}]},
        {"heartbeatList": {"9": [{"status": 7, "time": "nonsense"}]}, "uptimeList": {"9_24": "n/a"}},
    )
    monitor = data["groups"][0]["monitors"][0]
    assert monitor["status"] == "unknown" and monitor["uptime_24h"] is None and monitor["beats"][0]["time"] is None


def test_unconfigured_is_reported_not_failed(app, user_client, monkeypatch):
    monkeypatch.delenv("MEDIANEST_UPTIME_KUMA_URL", raising=False)
    monkeypatch.delenv("MEDIANEST_UPTIME_KUMA_SLUG", raising=False)
    assert run_checks(app)["uptime_kuma"].status == "unconfigured"
    data = user_client.get("/api/v1/uptime/monitors").get_json()["data"]
    assert data["configured"] is False and data["groups"] == []
    page = user_client.get("/?cards=inline").get_data(as_text=True)
    assert "Not set up yet" in page and "Ask your admin" in page


class NotKuma(Standin):
    name = "not-kuma"

    def __init__(self) -> None:
        super().__init__()

        @self.app.get("/")
        def index():
            return "<html>a router</html>"


@pytest.mark.sqlite_only
def test_settings_validation_and_test_connection_say_why(app, kuma, monkeypatch):
    from medianest_uptime_kuma.kuma import settings_problems, test_connection

    monkeypatch.setenv("MEDIANEST_UPTIME_KUMA_READ_TIMEOUT", "1")
    assert "http:// or https://" in settings_problems({"url": "ftp://kuma:21", "slug": "x"})["url"]
    assert "no host" in settings_problems({"url": "http://", "slug": "x"})["url"]
    assert "slug" in settings_problems({"url": "http://kuma", "slug": "a b/c"})
    assert "read_timeout" in settings_problems({"url": "http://kuma", "slug": "x", "read_timeout": "-2"})
    assert settings_problems({"url": "http://kuma:3001", "slug": "household"}) == {}

    with app.app_context():
        good = test_connection({"url": kuma.url, "slug": "household"})
        assert good.ok and "2 monitor(s)" in good.message

        refused = test_connection({"url": f"http://127.0.0.1:{closed_port()}", "slug": "household"})
        assert not refused.ok and "connection refused" in refused.message

        hole = Blackhole()
        try:
            silent = test_connection({"url": hole.url, "slug": "household"})
        finally:
            hole.close()
        assert not silent.ok and "timed out" in silent.message

        slug = test_connection({"url": kuma.url, "slug": "nope"})
        assert not slug.ok and "no status page 'nope'" in slug.message

        with NotKuma() as other:
            wrong = test_connection({"url": other.url, "slug": "household"})
        assert not wrong.ok and "not Uptime Kuma" in wrong.message

        kuma.add_api_key(1, "right")
        bad_key = test_connection({"url": kuma.url, "slug": "household", "api_key": "uk1_wrong"})
        assert not bad_key.ok and "refused the API key" in bad_key.message
        assert test_connection({"url": kuma.url, "slug": "household", "api_key": "uk1_right"}).ok

        bad_url = test_connection({"url": "gopher://kuma", "slug": "household"})
        assert not bad_url.ok and "http:// or https://" in bad_url.message


@pytest.mark.sqlite_only
def test_a_hanging_uptime_kuma_is_reported_as_timed_out(app, kuma, user_client):
    """The flag follows the error's code: the HTTP layer's message ("did not answer in 1 s") has no "timed out"."""
    kuma.set_hang(True)
    try:
        results = run_checks(app)
    finally:
        kuma.set_hang(False)
    assert results["uptime_kuma"].status == "offline"
    monitors = user_client.get("/api/v1/uptime/monitors").get_json()
    assert monitors["data"]["timed_out"] is True, monitors
    card = user_client.get("/dashboard/cards/uptime-kuma", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Timed out:" in card

    kuma.set_monitor_status(1, 0)  # answers again (a monitor went down): not a time-out
    run_checks(app)
    assert user_client.get("/api/v1/uptime/monitors").get_json()["data"]["timed_out"] is False
