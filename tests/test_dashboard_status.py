"""The status record: what the dashboard reads (never a live call), history, uptime and sparklines."""

from __future__ import annotations

from datetime import timedelta

import pytest

from medianest.http import reset_clients
from medianest.plugins import HealthCheck, HealthResult
from tests.standins.base import Blackhole


def add_history(app, service="plex", statuses=("online",) * 9 + ("offline",), age=timedelta(0)):
    from medianest.extensions import db
    from medianest.models import ServiceCheck, ServiceStatus, utcnow

    with app.app_context():
        now = utcnow() - age
        for i, status in enumerate(statuses):
            db.session.add(
                ServiceCheck(
                    service=service,
                    status=status,
                    response_ms=None if status == "offline" else 10.0 + i,
                    checked_at=now - timedelta(seconds=30 * (len(statuses) - i)),
                )
            )
        db.session.add(
            ServiceStatus(
                service=service,
                plugin="plex",
                display_name="Plex",
                status=statuses[-1],
                response_ms=12.0,
                error="refused" if statuses[-1] == "offline" else None,
                checked_at=now,
                changed_at=now,
            )
        )
        db.session.commit()


def test_status_api_and_services_card_read_the_record(app, user_client):
    add_history(app)
    body = user_client.get("/api/v1/dashboard/status").get_json()
    assert body["success"] is True and body["meta"]["check_interval_seconds"] == 30.0
    plex = next(item for item in body["data"] if item["service"] == "plex")
    assert plex["status"] == "offline" and plex["uptime_24h"] == 90.0 and plex["stale"] is False
    assert len(plex["recent"]) == 10 and plex["recent"][0]["response_ms"] == 10.0  # oldest first

    page = user_client.get("/?cards=inline").get_data(as_text=True)
    assert 'id="card-services"' in page and 'data-service="plex" data-status="offline"' in page
    assert "90.0% up (24 h)" in page
    assert '<svg class="sparkline"' in page and "<polyline points=" in page and 'class="spark-down"' in page
    assert "style=" not in page


@pytest.mark.sqlite_only
def test_a_status_nobody_refreshed_is_marked_stale(app, user_client):
    add_history(app, statuses=("online",), age=timedelta(minutes=10))
    plex = user_client.get("/api/v1/dashboard/status").get_json()["data"][0]
    assert plex["stale"] is True and plex["age_seconds"] >= 600
    assert "are the background jobs running?" in user_client.get("/?cards=inline").get_data(as_text=True)


@pytest.mark.sqlite_only
def test_the_dashboard_never_calls_a_service(app, user_client, monkeypatch):
    hole = Blackhole()
    monkeypatch.setenv("MEDIANEST_UPTIME_KUMA_URL", hole.url)
    monkeypatch.setenv("MEDIANEST_UPTIME_KUMA_SLUG", "household")
    reset_clients()
    try:
        for path in (
            "/",
            "/api/v1/dashboard/status",
            "/api/v1/uptime/monitors",
            "/dashboard/cards/uptime-kuma",
            "/dashboard/cards/services",
        ):
            assert user_client.get(path).status_code == 200
        assert hole._conns == []
    finally:
        hole.close()


def test_history_is_pruned_after_the_retention_but_keeps_a_day(app):
    from medianest.extensions import db
    from medianest.models import ServiceCheck
    from medianest.status import prune_history

    add_history(app, statuses=("online",) * 3, age=timedelta(hours=49))
    add_history(app, service="kuma", statuses=("online",) * 3, age=timedelta(hours=23))
    with app.app_context():
        assert prune_history() == 3
        assert prune_history(timedelta(hours=1)) == 0  # never less than the 24 h the uptime needs
        assert db.session.scalar(db.select(db.func.count()).select_from(ServiceCheck)) == 3


@pytest.mark.sqlite_only
def test_only_a_change_publishes_service_status(app):
    from medianest.status import record_one

    seen = []
    app.extensions["medianest.subscriptions"].setdefault("service.status", []).append(("core", seen.append))
    check = HealthCheck(name="plex", check=lambda: None, display_name="Plex")
    with app.app_context():
        record_one("plex", check, HealthResult("online", 5.0))
        record_one("plex", check, HealthResult("online", 6.0))
        record_one("plex", check, HealthResult("offline", None, "refused"))
    assert [(e["service"], e["status"]) for e in seen] == [("plex", "online"), ("plex", "offline")]
    assert seen[-1]["error"] == "refused" and seen[-1]["user_id"] is None and seen[-1]["checked_at"].endswith("Z")


@pytest.mark.sqlite_only
def test_runs_do_not_overlap(app):
    from medianest import status

    with app.app_context():
        assert status._run_lock.acquire(blocking=False)
        try:
            assert status.run_checks() == {}  # skipped: a run is still going
        finally:
            status._run_lock.release()
        assert "uptime_kuma" in status.run_checks()
