"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import pytest

from medianest.plugins.types import HealthCheck, HealthResult


def test_healthz_does_no_io(app, client, monkeypatch):
    from medianest.extensions import db

    def explode(*a, **k):
        raise AssertionError("healthz touched the database")

    monkeypatch.setattr(db.session, "execute", explode)
    assert client.get("/healthz").status_code == 200


@pytest.mark.plugins("cardtest")
def test_readiness_is_503_when_a_critical_check_fails(app, client):
    from medianest.extensions import db
    from medianest.status import record

    with app.app_context():
        record(
            {
                "vault": (
                    "cardtest",
                    HealthCheck("vault", lambda: None, critical=True),
                    HealthResult("offline", error="down"),
                )
            }
        )
        db.session.commit()
    response = client.get("/api/v1/health")
    assert response.status_code == 503
    body = response.get_json()
    assert body["success"] is False and body["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert body["data"]["services"]["vault"]["status"] == "offline"
    with app.app_context():
        record({"vault": ("cardtest", HealthCheck("vault", lambda: None, critical=True), HealthResult("online"))})
    assert client.get("/api/v1/health").status_code == 200


@pytest.mark.settings(redis_url="redis://127.0.0.1:1/0")
def test_readiness_reports_redis_down(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.get_json()["data"]["checks"]["redis"]["status"] == "down"


@pytest.mark.settings(redis_url="use-test-redis")
def test_readiness_reports_redis_up(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.get_json()["data"]["checks"]["redis"]["status"] == "up"


@pytest.mark.settings(metrics_token="scrape-me")
def test_metrics_need_the_token_and_count_requests(client):
    client.get("/healthz")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    response = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert 'medianest_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert "medianest_http_request_duration_seconds_bucket" in text
    assert "medianest_socketio_connections" in text
    assert "medianest_tasks_total" in text


def test_metrics_are_off_without_a_token(client):
    assert client.get("/metrics").status_code == 404


@pytest.mark.settings(metrics_token="scrape-me", redis_url="use-test-redis")
def test_tasks_counted_by_a_worker_process_and_the_queue_show_on_the_web_metrics(app, client):
    """A worker counts in Redis (it serves no /metrics); the web process reads it when scraped."""
    from medianest.metrics import TASK_COUNTS_KEY, TASKS
    from medianest.redis_connection import redis_client

    with app.app_context():
        redis = redis_client()
        redis.delete(TASK_COUNTS_KEY, "celery")
        for state in ("SUCCESS", "SUCCESS", "FAILURE"):
            TASKS.count("youtube.download", state, redis)
        redis.lpush("celery", "waiting-1", "waiting-2", "waiting-3")
    try:
        text = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"}).get_data(as_text=True)
        assert 'medianest_tasks_total{state="SUCCESS",task="youtube.download"} 2.0' in text
        assert 'medianest_tasks_total{state="FAILURE",task="youtube.download"} 1.0' in text
        assert 'medianest_task_queue_length{queue="celery"} 3.0' in text
    finally:
        with app.app_context():
            redis_client().delete(TASK_COUNTS_KEY, "celery")


@pytest.mark.settings(metrics_token="scrape-me", redis_url="redis://127.0.0.1:1/0")
def test_metrics_still_answer_with_redis_down(client):
    response = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert response.status_code == 200
    assert "medianest_http_requests_total" in response.get_data(as_text=True)


@pytest.mark.settings(metrics_token="scrape-me")
def test_readiness_details_are_for_admins_and_the_metrics_token(client, user_client, admin_client, app):
    """Anyone sees statuses; plugin versions, hooks, errors and breakers need an admin or the metrics token."""
    from medianest.extensions import db
    from medianest.status import record

    with app.app_context():
        record(
            {"vault": ("cardtest", HealthCheck("vault", lambda: None), HealthResult("offline", error="secret path"))}
        )
        db.session.commit()
    for anonymous in (client, user_client):
        body = anonymous.get("/api/v1/health").get_json()["data"]
        assert body["checks"]["database"] == {"status": "up"}
        assert body["services"]["vault"] == {"status": "offline"}
        assert "plugins" not in body and "breakers" not in body
        assert "secret path" not in str(body) and "hooks" not in str(body)
    wrong = client.get("/api/v1/health", headers={"Authorization": "Bearer wrong"}).get_json()["data"]
    assert "plugins" not in wrong
    for full in (
        admin_client.get("/api/v1/health").get_json()["data"],
        client.get("/api/v1/health", headers={"Authorization": "Bearer scrape-me"}).get_json()["data"],
    ):
        assert full["plugins"]["plex"]["version"] and full["plugins"]["plex"]["hooks"]
        assert full["services"]["vault"]["error"] == "secret path"
        assert "response_ms" in full["checks"]["database"] and "breakers" in full
