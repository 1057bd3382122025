"""A TCP blackhole and a closed port as services: the breaker opens, later checks fail fast,
the card keeps the last good data marked stale, and the service comes back by itself."""

from __future__ import annotations

import time

import pytest

from medianest.http import reset_clients
from tests.standins.base import Blackhole
from tests.standins.uptime_kuma import UptimeKumaStandin

BREAKER = dict(breaker_fail_max=3, breaker_reset_seconds=2.0, service_connect_timeout=0.5, service_read_timeout=0.5)


@pytest.fixture(autouse=True)
def _fresh_clients():
    reset_clients()
    yield
    reset_clients()


def run_checks(app):
    from medianest.status import run_checks as run

    with app.app_context():
        return run()["uptime_kuma"]


def status_of(app):
    from medianest.extensions import db
    from medianest.models import ServiceStatus

    with app.app_context():
        return db.session.get(ServiceStatus, "uptime_kuma").to_public()


@pytest.mark.settings(**BREAKER)
def test_blackhole_opens_the_breaker_and_later_checks_fail_fast(app, monkeypatch, user_client):
    hole = Blackhole()
    monkeypatch.setenv("MEDIANEST_UPTIME_KUMA_URL", hole.url)
    monkeypatch.setenv("MEDIANEST_UPTIME_KUMA_SLUG", "household")
    try:
        for attempt in range(3):
            result = run_checks(app)
            assert result.status == "offline"
            assert "did not answer in 0.5 s" in result.error, result.error
        connections = len(hole._conns)
        assert connections == 3  # one per check: health checks are not retried

        fast = run_checks(app)
        assert fast.status == "offline"
        assert fast.details["code"] == "SERVICE_UNAVAILABLE" and "try again" in fast.error
        assert len(hole._conns) == connections, "an open breaker must not reach the service"

        status = status_of(app)
        assert status["breaker"] == {"state": "open", "failures": 3}
        page = user_client.get("/?cards=inline").get_data(as_text=True)
        assert 'data-service="uptime_kuma" data-status="offline"' in page
        assert "Calls paused after 3 failures" in page
    finally:
        hole.close()


@pytest.mark.settings(**BREAKER, metrics_token="metrics-secret")
def test_closed_port_keeps_last_good_data_stale_and_recovers_within_one_reset_period(
    app, monkeypatch, user_client, client
):
    kuma = UptimeKumaStandin(slug="household", hang_seconds=10)
    kuma.start()
    monkeypatch.setenv("MEDIANEST_UPTIME_KUMA_URL", kuma.url)
    monkeypatch.setenv("MEDIANEST_UPTIME_KUMA_SLUG", "household")
    try:
        assert run_checks(app).status == "online"

        kuma.stop()  # the port is closed now: connection refused
        for _ in range(3):
            result = run_checks(app)
            assert result.status == "offline" and "refused" in result.error, result.error
        assert "try again" in run_checks(app).error  # open: failing fast

        # The card and the API show what Uptime Kuma said last, marked stale.
        card = user_client.get("/dashboard/cards/uptime-kuma", headers={"HX-Request": "true"}).get_data(as_text=True)
        assert 'data-stale="1"' in card and "Stale: showing what Uptime Kuma said" in card
        assert 'data-monitor="1" data-status="up"' in card
        data = user_client.get("/api/v1/uptime/monitors").get_json()["data"]
        assert data["stale"] is True and data["status"] == "offline" and data["age_seconds"] >= 0
        assert len(data["groups"][0]["monitors"]) == 2

        # Breaker state and call outcomes are in /api/v1/health and /metrics.
        health = client.get("/api/v1/health", headers={"Authorization": "Bearer metrics-secret"}).get_json()["data"]
        assert health["breakers"]["uptime_kuma"]["state"] == "open"
        metrics = client.get("/metrics", headers={"Authorization": "Bearer metrics-secret"}).get_data(as_text=True)
        assert 'medianest_service_breaker_state{service="uptime_kuma",state="open"} 1.0' in metrics
        assert 'medianest_service_calls_total{outcome="unreachable",service="uptime_kuma"}' in metrics
        assert 'medianest_service_calls_total{outcome="circuit_open",service="uptime_kuma"}' in metrics
        assert 'medianest_service_status{service="uptime_kuma",status="offline"} 1.0' in metrics

        kuma.start()  # same port, answering again
        recovered_by = time.monotonic() + BREAKER["breaker_reset_seconds"] + 1.5
        while time.monotonic() < recovered_by:
            if run_checks(app).status == "online":
                break
            time.sleep(0.25)  # the periodic job's interval, shortened
        assert status_of(app)["status"] == "online"
        assert status_of(app)["breaker"]["state"] == "closed"
        data = user_client.get("/api/v1/uptime/monitors").get_json()["data"]
        assert data["stale"] is False and data["status"] == "online"
    finally:
        kuma.stop()
