"""Sign-in that leaks nothing: timing, a budget per account as well as per address, the Plex PIN for scripts."""

from __future__ import annotations

import statistics
import time

import pytest

from tests.standins.plex import PlexTvStandin

PASSWORD = "carol-has-a-long-password"


@pytest.fixture
def carol(app):
    from medianest.auth.passwords import hash_password
    from medianest.extensions import db
    from medianest.models import User

    with app.app_context():
        user = User(username="carol", display_name="Carol", role="user", is_local=True)
        user.password_hash = hash_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        return user.id


def _login(client, username: str, password: str, address: str = "127.0.0.1"):
    return client.post(
        "/api/v1/auth/login",
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def _timed(client, username: str, password: str) -> float:
    started = time.perf_counter()
    answer = _login(client, username, password)
    elapsed = time.perf_counter() - started
    assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "INVALID_CREDENTIALS"
    return elapsed


@pytest.mark.sqlite_only
@pytest.mark.settings(rate_limit_login="1000/minute", rate_limit_login_account="1000/minute")
def test_a_missing_account_answers_as_slowly_as_a_wrong_password(app, carol):
    client = app.test_client()
    _timed(client, "carol", "warm-up")  # the first request of an app pays for its set-up
    missing, wrong = [], []
    for _ in range(12):  # interleaved, so a slow moment of the machine hits both sides
        missing.append(_timed(client, "nobody-by-that-name", "some-password"))
        wrong.append(_timed(client, "carol", "not-her-password"))
    ratio = statistics.median(missing) / statistics.median(wrong)
    assert 0.5 <= ratio <= 2, f"missing {statistics.median(missing):.4f} s, wrong {statistics.median(wrong):.4f} s"


@pytest.mark.settings(rate_limit_login="5/minute", rate_limit_login_account="10 per 15 minutes")
def test_many_addresses_against_one_account_meet_the_account_limit(app, carol):
    client = app.test_client()
    for n in range(10):
        answer = _login(client, "carol", f"guess-{n}", address=f"10.0.0.{n + 1}")
        assert answer.status_code == 401, answer.get_json()
    # An eleventh address, fresh for the per-address limit, still meets the account's budget.
    refused = _login(client, " Carol ", "guess-10", address="10.0.0.11")
    assert refused.status_code == 429
    error = refused.get_json()["error"]
    assert error["code"] == "RATE_LIMITED"
    assert "10 per 15 minute failed sign-ins to one account" in error["message"]
    # The wait is the account window's, not a default minute.
    assert 60 < error["details"]["reset_in"] <= 15 * 60 and 60 < int(refused.headers["Retry-After"]) <= 15 * 60
    # Even the right password waits for the window: the budget is the account's, not the address's.
    assert _login(client, "carol", PASSWORD, address="10.0.0.12").status_code == 429
    # The form shares the account's budget.
    page = client.post(
        "/auth/login", data={"username": "carol", "password": "x"}, environ_base={"REMOTE_ADDR": "10.0.0.13"}
    )
    assert page.status_code == 429
    # Other accounts are not affected.
    other = _login(client, "admin", "wrong-password", address="10.0.0.14")
    assert other.status_code == 401 and other.get_json()["error"]["code"] == "INVALID_CREDENTIALS"


@pytest.mark.sqlite_only
@pytest.mark.settings(rate_limit_login="100/minute", rate_limit_login_account="3 per 10 seconds")
def test_the_owner_signs_in_once_the_account_window_has_passed(app, carol):
    client = app.test_client()
    # Successes do not count against the account.
    for _ in range(2):
        assert _login(client, "carol", PASSWORD, address="10.0.1.1").status_code == 200
    for n in range(3):
        assert _login(client, "carol", "guess", address=f"10.0.2.{n + 1}").status_code == 401
    refused = _login(client, "carol", PASSWORD, address="10.0.1.1")
    assert refused.status_code == 429
    wait = refused.get_json()["error"]["details"]["reset_in"]
    assert 0 < wait <= 11 and f"Try again in {wait} s." in refused.get_json()["error"]["message"]
    time.sleep(wait + 0.2)  # the wait is rounded up to whole seconds
    answer = _login(client, "carol", PASSWORD, address="10.0.1.1")
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["data"]["username"] == "carol"


@pytest.mark.sqlite_only
@pytest.mark.settings(
    redis_url="use-test-redis", rate_limit_login="100/minute", rate_limit_login_account="2 per 15 minutes"
)
def test_the_account_limit_counts_in_redis(app, carol):
    import redis

    for n in range(2):
        assert _login(app.test_client(), "carol", "guess", address=f"10.0.3.{n}").status_code == 401
    assert _login(app.test_client(), "carol", "guess", address="10.0.3.9").status_code == 429
    # Kept in Redis, so every web process sees the same count.
    assert redis.Redis.from_url(app.config["MEDIANEST"].redis_url).keys("*account:carol/sign-in-account*")


@pytest.fixture
def plex_tv(app):
    from medianest.http import reset_clients

    with PlexTvStandin() as standin:
        app.config["MEDIANEST"] = app.config["MEDIANEST"].model_copy(update={"plex_tv_url": standin.url})
        reset_clients()
        yield standin
    reset_clients()


@pytest.mark.sqlite_only
def test_a_script_without_cookies_starts_a_plex_pin_without_a_csrf_token(app, plex_tv):
    client = app.test_client()
    answer = client.post("/api/v1/auth/plex/pin", csrf=False)
    assert answer.status_code == 201, answer.get_data(as_text=True)
    data = answer.get_json()["data"]
    assert data["status"] == "waiting" and data["code"]
    assert plex_tv.find_pin(data["code"]) is not None
    # It now holds a session cookie: starting again with it needs the token the answer gave.
    again = client.post("/api/v1/auth/plex/pin", csrf=False)
    assert again.status_code == 403 and again.get_json()["error"]["code"] == "CSRF_FAILED"
    restarted = client.post("/api/v1/auth/plex/pin", csrf=False, headers={"X-CSRFToken": data["csrf_token"]})
    assert restarted.status_code == 201
    # The poll reads the PIN of this client's session.
    poll = client.get("/api/v1/auth/plex/pin")
    assert poll.status_code == 200 and poll.get_json()["data"]["code"] == restarted.get_json()["data"]["code"]


@pytest.mark.sqlite_only
def test_a_browser_with_cookies_still_needs_the_csrf_token_for_a_pin(app, plex_tv, user_client):
    forged = user_client.post("/api/v1/auth/plex/pin", csrf=False)
    assert forged.status_code == 403 and forged.get_json()["error"]["code"] == "CSRF_FAILED"
    assert not plex_tv.pins
    assert user_client.post("/api/v1/auth/plex/pin").status_code == 201
