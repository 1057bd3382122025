"""Rate limits against real Redis: sign-in, the API budget, guesses, resets, and Redis going away."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest

from tests.conftest import ADMIN_PASSWORD
from tests.support.services import free_port
from tests.support.waiting import wait_for

MONITOR = {"Authorization": "Bearer m"}  # the metrics token: the full readiness view


def _wrong(client):
    return client.post("/api/v1/auth/login", json={"username": "admin", "password": "wrong-password"})


@pytest.mark.settings(redis_url="use-test-redis")
def test_sixth_sign_in_in_a_minute_is_refused_with_retry_after(app):
    client = app.test_client()
    for _ in range(4):
        answer = _wrong(client)
        assert answer.status_code == 401
        assert answer.get_json()["error"]["code"] == "INVALID_CREDENTIALS"
    assert client.post("/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}).status_code == 200
    sixth = _wrong(app.test_client())
    assert sixth.status_code == 429
    assert 0 < int(sixth.headers["Retry-After"]) <= 60
    error = sixth.get_json()["error"]
    assert error["code"] == "RATE_LIMITED"
    assert "5 per 1 minute" in error["details"]["limit"] and error["details"]["reset_in"] > 0
    # The form answers a page, not JSON.
    page = client.post("/auth/login", data={"username": "admin", "password": "x"})
    assert page.status_code == 429 and "Too many requests" in page.get_data(as_text=True)
    # The count lives in Redis, so another process would see it too.
    import redis

    keys = redis.Redis.from_url(app.config["MEDIANEST"].redis_url).keys("*medianest-fw*sign-in*")
    assert keys


@pytest.mark.sqlite_only
@pytest.mark.settings(redis_url="use-test-redis", rate_limit_login="5 per 2 seconds")
def test_the_limit_resets_after_its_window(app):
    client = app.test_client()
    for _ in range(5):
        assert _wrong(client).status_code == 401
    refused = _wrong(client)
    assert refused.status_code == 429
    time.sleep(int(refused.headers["Retry-After"]) + 0.2)  # rounded up: then the window is over
    assert _wrong(client).status_code == 401


@pytest.mark.settings(redis_url="use-test-redis")
def test_pin_creation_counts_against_the_sign_in_limit(app):
    client = app.test_client()
    from tests.standins.plex import PlexTvStandin

    with PlexTvStandin() as plex_tv:
        app.config["MEDIANEST"] = app.config["MEDIANEST"].model_copy(update={"plex_tv_url": plex_tv.url})
        codes = [client.post("/api/v1/auth/plex/pin").status_code for _ in range(6)]
    assert codes == [201] * 5 + [429]


@pytest.mark.settings(redis_url="use-test-redis", rate_limit_api="3/minute")
def test_api_budget_is_per_user_and_pages_do_not_count(app, user_client, other_client):
    for _ in range(3):
        assert user_client.get("/api/v1/auth/session").status_code == 200
    assert user_client.get("/auth/tokens").status_code == 200  # a page: not counted
    over = user_client.get("/api/v1/auth/tokens")
    assert over.status_code == 429 and over.get_json()["error"]["code"] == "RATE_LIMITED"
    assert over.headers["Retry-After"]
    assert other_client.get("/api/v1/auth/session").status_code == 200  # bob has his own budget
    assert user_client.get("/auth/tokens").status_code == 200


@pytest.mark.settings(redis_url="use-test-redis")
def test_wrong_and_revoked_api_tokens_are_guesses(app, user_client):
    created = user_client.post("/api/v1/auth/tokens", json={"name": "cron"}).get_json()["data"]
    assert user_client.delete(f"/api/v1/auth/tokens/{created['id']}").status_code == 200
    anonymous = app.test_client()
    revoked = anonymous.get("/api/v1/auth/tokens", headers={"Authorization": f"Bearer {created['token']}"})
    assert revoked.status_code == 401
    assert revoked.get_json()["error"] == {
        "code": "INVALID_TOKEN",
        "message": "This API token has been revoked.",
        "details": revoked.get_json()["error"]["details"],
    }
    statuses = [
        anonymous.get("/api/v1/auth/tokens", headers={"Authorization": f"Bearer mn_guess{i}"}).status_code
        for i in range(5)
    ]
    assert statuses == [401, 401, 401, 401, 429]


def _redis_server(port: int) -> subprocess.Popen:
    binary = shutil.which("redis-server")
    if binary is None:
        from tests.support.services import service_missing

        service_missing("redis-server binary")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("private redis-server did not start")


def _app_on_private_redis(request, tmp_path, app, **settings):
    """A second app on the fixture's migrated database, its limits on a private redis-server (never the shared one)."""
    from tests.support.apps import build_app, make_settings

    port = free_port()
    proc = _redis_server(port)
    request.addfinalizer(lambda: (proc.kill(), proc.wait()))
    url = f"redis://127.0.0.1:{port}/0"
    live = build_app(make_settings(tmp_path / "data", app.config["SQLALCHEMY_DATABASE_URI"], url, **settings))
    return live, proc, port


@pytest.mark.sqlite_only
def test_redis_stopped_mid_test_still_serves_with_memory_limits(request, tmp_path, app):
    """A private redis-server (never the shared one) is killed while the app runs."""
    from medianest.extensions import limiter

    live, proc, port = _app_on_private_redis(request, tmp_path, app, rate_limit_login="3/minute", metrics_token="m")
    with live.app_context():
        limiter.reset()
    client = live.test_client()
    assert _wrong(client).status_code == 401
    health = client.get("/api/v1/health", headers=MONITOR).get_json()["data"]
    assert health["checks"]["rate_limits"]["storage"] == "redis"

    proc.kill()
    proc.wait()
    # Still serving: sign-in answers, limits now count in memory, and health says so.
    answers = [_wrong(client).status_code for _ in range(4)]
    assert 500 not in answers
    assert answers[-1] == 429  # the memory limiter still limits
    assert client.post("/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}).status_code in (
        200,
        429,
    )
    assert client.get("/healthz").status_code == 200
    health = client.get("/api/v1/health", headers=MONITOR)
    body = health.get_json()["data"]
    assert body["checks"]["rate_limits"]["status"] == "degraded"
    assert body["checks"]["rate_limits"]["storage"] == "memory"
    assert "Redis" in body["checks"]["rate_limits"]["note"]

    # Redis back: the limits count there again.  (The limiter is the process's one: a later test
    # must not find it still counting in memory, which skips the limits of single routes.)
    import redis as redis_lib

    restarted = _redis_server(port)
    request.addfinalizer(lambda: (restarted.kill(), restarted.wait()))
    wait_for(
        lambda: client.get("/api/v1/uptime/monitors").status_code != 500 and redis_lib.Redis(port=port).keys("*"),
        timeout=60,
        interval=0.5,
        what="the limits counted in Redis again",
    )
    with live.app_context():
        from medianest.extensions import db

        db.engine.dispose()


@pytest.mark.settings(redis_url="use-test-redis", rate_limit_api="4/minute")
def test_api_budget_headers_count_down_in_one_window(app, user_client):
    answers = [user_client.get("/api/v1/auth/session") for _ in range(4)]
    assert [int(a.headers["X-RateLimit-Remaining"]) for a in answers] == [3, 2, 1, 0]
    assert {a.headers["X-RateLimit-Limit"] for a in answers} == {"4"}
    resets = {int(a.headers["X-RateLimit-Reset"]) for a in answers}
    assert max(resets) - min(resets) <= 1 and 0 < max(resets) - time.time() <= 61  # one window, ending within a minute
    over = user_client.get("/api/v1/auth/session")
    assert over.status_code == 429
    body = over.get_json()["error"]
    assert body["code"] == "RATE_LIMITED" and body["details"]["limit"] == "4 per 1 minute"
    assert 0 < int(over.headers["Retry-After"]) <= 60
    assert "X-RateLimit-Limit" not in user_client.get("/auth/tokens").headers  # pages are not counted


@pytest.mark.sqlite_only
def test_api_budget_survives_redis_going_away_and_coming_back(request, tmp_path, app):
    """The shared API budget: counted in memory while a private Redis is down, in Redis again once it is back."""
    import redis as redis_lib

    live, proc, port = _app_on_private_redis(request, tmp_path, app, rate_limit_api="5/minute", metrics_token="m")
    client = live.test_client()
    try:
        # Counted in Redis (a Redis that was still starting when the app first asked is retried).
        wait_for(
            lambda: client.get("/api/v1/uptime/monitors").status_code != 500 and redis_lib.Redis(port=port).keys("*"),
            timeout=60,
            interval=0.5,
            what="the API budget counted in Redis",
        )

        proc.kill()
        proc.wait()
        answers = [client.get("/api/v1/uptime/monitors") for _ in range(4)]
        health = client.get("/api/v1/health", headers=MONITOR)  # the fifth call of the budget, in memory
        assert health.get_json()["data"]["checks"]["rate_limits"]["status"] == "degraded"
        answers.append(client.get("/api/v1/uptime/monitors"))
        assert 500 not in [a.status_code for a in answers]
        assert [a.status_code for a in answers][-1] == 429  # five in memory, then refused
        assert client.get("/healthz").status_code == 200

        restarted = _redis_server(port)
        request.addfinalizer(lambda: (restarted.kill(), restarted.wait()))

        def counted_in_redis_again() -> bool:
            answer = client.get("/api/v1/uptime/monitors")
            return answer.status_code != 500 and answer.headers.get("X-RateLimit-Remaining") == "4"

        wait_for(counted_in_redis_again, timeout=20, interval=0.5, what="the API budget counted in Redis again")
        health = client.get("/api/v1/health", headers=MONITOR).get_json()["data"]
        assert health["checks"]["rate_limits"]["status"] == "up"
    finally:
        with live.app_context():
            from medianest.extensions import db

            db.engine.dispose()


@pytest.mark.sqlite_only
@pytest.mark.env(MEDIANEST_RATE_LIMIT_YOUTUBE="2/hour")
def test_an_hourly_limit_says_the_same_wait_as_retry_after(app, user_client, tmp_path, monkeypatch):
    """The message, the details and the header name one wait: the hour's rest, not a minute."""
    monkeypatch.setenv("MEDIANEST_YOUTUBE_DOWNLOAD_ROOT", str(tmp_path / "downloads"))
    monkeypatch.setenv("MEDIANEST_YOUTUBE_MIN_FREE_GB", "0")
    for n in range(2):
        assert user_client.post("/api/v1/youtube/downloads", json={"url": f"https://youtu.be/{n}"}).status_code == 201
    refused = user_client.post("/api/v1/youtube/downloads", json={"url": "https://youtu.be/x"})
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    error = refused.get_json()["error"]
    assert 3000 < wait <= 3601, wait  # Flask-Limiter counts the window to its next whole second
    assert error["details"]["reset_in"] == wait and f"Try again in {wait} s" in error["message"], (wait, error)
