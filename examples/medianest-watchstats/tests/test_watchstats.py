"""The example plugin's own tests, with MediaNest's fixtures (medianest.testing).

Each test runs on SQLite and on PostgreSQL, on a database migrated with
MediaNest's migrations and this plugin's own branch.
"""

import pytest
from medianest_watchstats.plugin import SNAPSHOT, check, on_user_deleted, snapshot_task

API_KEY = "watchstats-test-key"


def activity(streams: int, title: str | None = None) -> dict:
    """An answer of Tautulli's API v2 to ``cmd=get_activity``."""
    sessions = [{"full_title": title, "state": "playing"}] if title else []
    return {
        "response": {"result": "success", "message": None, "data": {"stream_count": str(streams), "sessions": sessions}}
    }


@pytest.fixture
def service(json_standin, admin_client):
    """The stand-in service, set up by an admin through the admin API (the key is stored encrypted)."""
    json_standin.answer("GET", "/api/v2", activity(2, "Arrival"))
    response = admin_client.put(
        "/api/v1/admin/services/watchstats", json={"values": {"url": json_standin.url, "api_key": API_KEY}}
    )
    assert response.status_code == 200, response.get_json()
    return json_standin


def test_settings_keep_the_key_secret(service, admin_client):
    shown = admin_client.get("/api/v1/admin/services").get_data(as_text=True)
    assert "watchstats" in shown
    assert API_KEY not in shown


def test_connection_test_calls_the_service(service, admin_client):
    response = admin_client.post("/api/v1/admin/services/watchstats/test", json={})
    assert response.status_code == 200
    assert response.get_json()["data"]["ok"] is True
    assert service.requests[-1].args == {"cmd": "get_activity", "apikey": API_KEY}


def test_the_page_is_in_the_nav_and_needs_a_sign_in(client, user_client):
    assert client.get("/watchstats/").status_code in (302, 401)
    page = user_client.get("/watchstats/").get_data(as_text=True)
    assert "No statistics yet" in page
    assert 'href="/watchstats/"' in page


def test_snapshot_reaches_table_json_card_and_browser(app, service, user_client, token_client, socketio_client):
    browser = socketio_client(user_client)
    with app.app_context():
        snapshot_task()
    event = browser.wait_for(SNAPSHOT)
    assert (event["streams"], event["top_title"], event["user_id"]) == (2, "Arrival", None)

    latest = token_client.get("/api/v1/watchstats/latest").get_json()["data"]
    assert latest["streams"] == 2
    card = user_client.get("/dashboard/cards/watchstats", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Arrival" in card
    assert "2 streams playing" in user_client.get("/watchstats/").get_data(as_text=True)


def test_without_settings_the_task_does_nothing_and_health_says_unconfigured(app, client):
    with app.app_context():
        snapshot_task()
        assert check().status == "unconfigured"
    assert client.get("/api/v1/watchstats/latest").status_code == 401


def test_a_refusing_service_is_offline(app, service):
    service.answer("GET", "/api/v2", {"response": {"result": "error", "message": "Invalid apikey", "data": {}}})
    with app.app_context():
        with pytest.raises(Exception, match="Invalid apikey"):
            check()


def test_user_deleted_reaches_the_subscription(app, admin_client, user, caplog):
    caplog.set_level("INFO", logger="medianest.plugins.watchstats")
    assert admin_client.delete(f"/api/v1/admin/users/{user.id}").status_code == 200
    assert f"user {user.id} deleted" in caplog.text
    on_user_deleted({"user_id": 0, "username": "nobody"})  # and it is a plain function
