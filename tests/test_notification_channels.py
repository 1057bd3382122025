"""Notification channels: Apprise really delivers to a receiver the test starts, through the egress guard.

The receiver is a plain HTTP server on 127.0.0.1 that Apprise's ``json://``
scheme posts to; it answers what the test tells it to (500, then 200), so
the retries, the failing state and the recovery are the real ones.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from medianest.events import notify as publish_notification
from medianest.extensions import db
from medianest.models import NotificationChannel, User, utcnow
from medianest.notifications.channels import url_of
from medianest.notifications.delivery import MAX_RETRIES
from medianest.plugins.types import HealthCheck, HealthResult
from medianest.service_settings import rotate_encryption
from medianest.settings import Settings
from medianest.status import record_one

API = "/api/v1/notifications/channels"


class Receiver:
    """A local HTTP server recording every POST; ``answers`` is the status of the next replies (then 200)."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.answers: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver.answers.pop(0) if receiver.answers else 200
                receiver.received.append({"path": self.path, "status": status, "body": json.loads(body or b"{}")})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def eager(app):
    """Deliveries run at once in the test, retries included (their delays skipped)."""
    app.extensions["celery"].conf.task_always_eager = True
    yield
    app.extensions["celery"].conf.task_always_eager = False


def notify(app, user_id, message, level="info", kind="message"):

    with app.test_request_context():
        publish_notification(user_id, message, level, None, kind)


def channel(client, channel_id):
    (found,) = [c for c in client.get(API).get_json()["data"] if c["id"] == channel_id]
    return found


@pytest.mark.settings(notify_allowed_private="127.0.0.1")
def test_apprise_delivers_the_kinds_chosen_and_retries_after_a_500(app, alice, user_client, receiver, eager):
    added = user_client.post(
        API, json={"name": "Receiver", "url": receiver.url, "kinds": ["request.available", "download.failed"]}
    )
    assert added.status_code == 201, added.get_json()
    made = added.get_json()["data"]
    assert made["url"] == "json://127.0.0.1…"  # the URL's tokens never come back
    assert made["kinds"] == ["request.available", "download.failed"] and made["state"] == "ok"

    notify(app, alice.id, "The Matrix is now available.", "success", "request.available")
    assert [r["body"]["message"] for r in receiver.received] == ["The Matrix is now available."]
    assert receiver.received[0]["body"]["type"] == "success" and receiver.received[0]["path"] == "/hook"

    notify(app, alice.id, "Something else.", kind="download.finished")  # not chosen for this channel
    assert len(receiver.received) == 1

    receiver.answers = [500]  # the first attempt fails, the retry goes through
    notify(app, alice.id, "“Lectures” could not be downloaded.", "error", "download.failed")
    assert [r["status"] for r in receiver.received[1:]] == [500, 200]
    assert all(r["body"]["message"] == "“Lectures” could not be downloaded." for r in receiver.received[1:])
    state = channel(user_client, made["id"])
    assert state["state"] == "ok" and state["last_sent_at"] and state["last_error"] is None


@pytest.mark.settings(notify_allowed_private="127.0.0.1")
def test_a_channel_that_keeps_failing_is_marked_failing_then_recovers(app, alice, user_client, receiver, eager):

    made = user_client.post(API, json={"name": "Flaky", "url": receiver.url}).get_json()["data"]
    receiver.answers = [500] * (MAX_RETRIES + 1)
    notify(app, alice.id, "first")
    assert [r["status"] for r in receiver.received] == [500] * (MAX_RETRIES + 1)  # tried, retried, then given up
    state = channel(user_client, made["id"])
    assert state["state"] == "failing" and state["failures"] == 1
    assert "500" in state["last_error"] or "error" in state["last_error"].lower()
    page = user_client.get("/me/channels").get_data(as_text=True)
    assert 'data-state="failing"' in page and "Failed 1 time in a row" in page

    # The button: a test goes out and, delivered, clears the failing state.
    assert user_client.post(f"{API}/{made['id']}/test").status_code == 202
    assert receiver.received[-1]["body"]["message"].startswith("A test from MediaNest, sent by Alice")
    assert channel(user_client, made["id"])["state"] == "ok"


def test_private_receivers_are_refused_unless_an_admin_allows_them(app, alice, user_client, receiver, eager):
    made = user_client.post(API, json={"name": "Local", "url": receiver.url}).get_json()["data"]
    notify(app, alice.id, "should not arrive")
    assert receiver.received == []
    state = channel(user_client, made["id"])
    assert state["state"] == "failing"
    assert "egress guard" in state["last_error"] and "loopback" in state["last_error"]


def test_bad_channels_get_clear_errors(app, alice, user_client):
    for url, code in (
        ("not a url", "CHANNEL_URL_INVALID"),
        ("nosuchservice://x/y", "CHANNEL_URL_INVALID"),
        ("mailto://user:pass@example.com", "CHANNEL_NOT_SUPPORTED"),
    ):
        answer = user_client.post(API, json={"name": "x", "url": url})
        assert answer.status_code == 400 and answer.get_json()["error"]["code"] == code, url
    answer = user_client.post(API, json={"name": "x", "url": "json://example.com/", "kinds": ["service.down"]})
    assert answer.get_json()["error"]["code"] == "VALIDATION_ERROR"  # an admins' kind, for a person who is not


def test_channels_are_their_owners_and_stored_encrypted(app, alice, bob, user_client, other_client, admin_client):

    secret_url = "ntfys://ntfy.example.com/alice-secret-topic"
    made = user_client.post(API, json={"name": "Phone", "url": secret_url}).get_json()["data"]
    with app.app_context():
        stored = db.session.get(NotificationChannel, made["id"]).url_ciphertext
    assert "alice-secret-topic" not in stored
    assert other_client.get(API).get_json()["data"] == []
    assert admin_client.get(API).get_json()["data"] == []  # an admin has their own, not alice's
    for client in (other_client, admin_client):
        assert client.delete(f"{API}/{made['id']}").status_code == 404
        assert client.post(f"{API}/{made['id']}/test").status_code == 404
        assert client.patch(f"{API}/{made['id']}", json={"enabled": False}).status_code == 404
    changed = user_client.patch(f"{API}/{made['id']}", json={"kinds": ["request.available"], "enabled": False})
    assert changed.get_json()["data"]["kinds"] == ["request.available"] and not changed.get_json()["data"]["enabled"]
    assert user_client.delete(f"{API}/{made['id']}").status_code == 200
    assert user_client.get(API).get_json()["data"] == []


@pytest.mark.settings(notify_allowed_private="127.0.0.1")
def test_the_household_channel_gets_each_outage_once(app, alice, admin_client, user_client, receiver, eager):
    from datetime import timedelta

    assert (
        user_client.post("/api/v1/admin/notifications/channels", json={"name": "x", "url": receiver.url}).status_code
        == 403
    )
    made = admin_client.post("/api/v1/admin/notifications/channels", json={"name": "House", "url": receiver.url})
    assert made.status_code == 201 and made.get_json()["data"]["kinds"] == ["service.down", "service.up"]
    with app.app_context():  # a second admin: the household channel still hears once
        db.session.add(User(username="carol", role="admin", status="active"))
        db.session.commit()
    check = HealthCheck(name="plex", check=lambda: None, display_name="Plex")
    start = utcnow()
    with app.test_request_context():
        record_one("plex", check, HealthResult("online", response_ms=3), now=start)
        record_one("plex", check, HealthResult("offline", error="timed out"), now=start + timedelta(seconds=1))
        record_one("plex", check, HealthResult("online", response_ms=3), now=start + timedelta(seconds=2))
    assert [r["body"]["message"] for r in receiver.received] == ["Plex is down: timed out", "Plex is back up."]


def test_rotate_key_re_encrypts_channel_urls(app, alice, user_client, tmp_path):
    from tests.support.apps import ADMIN_PASSWORD, SECRET, build_app

    url = "ntfys://ntfy.example.com/alice-topic"
    made = user_client.post(API, json={"name": "Phone", "url": url}).get_json()["data"]

    def app_with(secret: str, previous: str | None):
        return build_app(
            Settings(
                data_dir=tmp_path / "data",
                database_url=app.config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg2://", "postgresql://"),
                secret_key=secret,
                previous_secret_keys=previous,
                admin_password=ADMIN_PASSWORD,
                log_format="text",
            )
        )

    new_secret = "another-brand-new-secret-0123456789"
    with app_with(new_secret, SECRET).app_context():
        assert rotate_encryption()["notification_channels"] == 1
    with app_with(new_secret, None).app_context():
        assert url_of(db.session.get(NotificationChannel, made["id"])) == url
        assert rotate_encryption(dry_run=True)["notification_channels"] == 0
