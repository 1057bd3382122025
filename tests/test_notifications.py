"""The inbox: notifications kept per person, the bell's count, mark read, retention, and who sees what."""

from __future__ import annotations

from datetime import timedelta

import pytest
from medianest_overseerr.media_requests import set_status
from medianest_overseerr.models import MediaRequest

from medianest.auth.sessions import start_session
from medianest.events import notify as publish_notification
from medianest.extensions import db
from medianest.models import Notification, User, utcnow
from medianest.notifications.tasks import purge_notifications
from medianest.plugins.states import record_faults
from medianest.plugins.types import HealthCheck, HealthResult
from medianest.status import record_one

API = "/api/v1/notifications"


def notify(app, user_id, message, level="info", link=None, kind="message"):

    with app.test_request_context():
        publish_notification(user_id, message, level, link, kind)


def inbox_of(client, **params):
    response = client.get(API, query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_notification_lands_in_its_persons_inbox_only(app, alice, bob, user_client, other_client):
    notify(app, alice.id, "The Matrix is now available.", "success", "/media/requests", "request.available")
    mine = inbox_of(user_client)
    assert [(n["message"], n["kind"], n["level"], n["read"]) for n in mine["data"]] == [
        ("The Matrix is now available.", "request.available", "success", False)
    ]
    assert mine["meta"]["unread"] == 1 and mine["meta"]["pagination"]["total"] == 1
    theirs = inbox_of(other_client)
    assert theirs["data"] == [] and theirs["meta"]["unread"] == 0
    # One set of routes: the paths the design pins, not a second copy under /me.
    assert user_client.get("/api/v1/me/notifications").status_code == 404
    assert user_client.get("/api/v1/me/notifications/channels").status_code == 404


def test_a_household_notification_reaches_every_active_person(app, alice, bob, user_client, other_client, admin_client):
    notify(app, None, "Plex restarts at midnight.")
    for client in (user_client, other_client, admin_client):
        assert [n["message"] for n in inbox_of(client)["data"]] == ["Plex restarts at midnight."]


def test_mark_read_and_mark_all_read(app, alice, bob, user_client, other_client):
    for n in range(3):
        notify(app, alice.id, f"note {n}")
    items = inbox_of(user_client)["data"]
    assert [n["message"] for n in items] == ["note 2", "note 1", "note 0"]  # newest first

    # Another person cannot read (or even learn of) alice's notification.
    assert other_client.post(f"{API}/{items[0]['id']}/read").status_code == 404
    assert user_client.get(f"{API}/unread").get_json()["data"] == {"unread": 3}

    answer = user_client.post(f"{API}/{items[0]['id']}/read")
    assert answer.status_code == 200 and answer.get_json()["data"]["read"] is True
    assert user_client.get(f"{API}/unread").get_json()["data"] == {"unread": 2}
    assert [n["message"] for n in inbox_of(user_client, unread="true")["data"]] == ["note 1", "note 0"]

    done = user_client.post(f"{API}/read-all").get_json()["data"]
    assert done == {"marked": 2, "unread": 0}
    assert inbox_of(user_client, unread="true")["data"] == []
    assert user_client.post(f"{API}/999999/read").get_json()["error"]["code"] == "NOT_FOUND"


def test_the_inbox_is_paged_like_the_other_lists(app, alice, user_client):
    for n in range(7):
        notify(app, alice.id, f"note {n}")
    first = inbox_of(user_client, per_page=3)
    assert [n["message"] for n in first["data"]] == ["note 6", "note 5", "note 4"]
    assert first["meta"]["pagination"]["total"] == 7 and first["meta"]["pagination"]["pages"] == 3
    second = inbox_of(user_client, before=first["meta"]["pagination"]["next_before"], per_page=3)
    assert [n["message"] for n in second["data"]] == ["note 3", "note 2", "note 1"]
    bad = user_client.get(API, query_string={"per_page": 1000})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "VALIDATION_ERROR"


def test_the_bell_counts_unread_and_the_inbox_page_marks_read(app, alice, user_client):
    page = user_client.get("/dashboard/")
    assert 'id="bell"' in page.get_data(as_text=True) and 'data-count="0"' in page.get_data(as_text=True)
    notify(app, alice.id, "Your download “Lectures” finished.", "success", "/youtube/1", "download.finished")
    bell = user_client.get("/me/notifications/bell", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'data-count="1"' in bell and "1 unread" in bell

    html = user_client.get("/me/notifications").get_data(as_text=True)
    assert "Your download “Lectures” finished." in html and 'href="/youtube/1"' in html
    note_id = inbox_of(user_client)["data"][0]["id"]
    marked = user_client.post(f"/me/notifications/{note_id}/read", headers={"HX-Request": "true"})
    assert marked.status_code == 200 and marked.headers["HX-Trigger"] == "inbox.changed"
    assert "0 unread" in marked.get_data(as_text=True)
    assert user_client.post(f"/me/notifications/{note_id + 1000}/read").status_code == 404


def test_a_request_becoming_available_lands_in_the_requesters_inbox(app, alice, user_client):

    with app.test_request_context():
        row = MediaRequest(user_id=alice.id, media_type="movie", tmdb_id=603, title="The Matrix", status="pending")
        db.session.add(row)
        db.session.commit()
        set_status(row, "approved", "test")
        set_status(row, "available", "test")
    kinds = [(n["kind"], n["message"]) for n in inbox_of(user_client)["data"]]
    assert kinds == [
        ("request.available", "The Matrix is now available."),
        ("request.approved", "The Matrix was approved and is on its way."),
    ]


def test_admins_hear_of_a_service_going_down_and_coming_back(app, alice, admin_client, user_client):

    check = HealthCheck(name="overseerr", check=lambda: None, display_name="Overseerr")
    start = utcnow()
    with app.test_request_context():
        for n, result in enumerate(
            (
                HealthResult("online", response_ms=5),
                HealthResult("degraded", response_ms=900),  # neither down nor back up
                HealthResult("offline", error="connection refused"),
                HealthResult("online", response_ms=5),
            )
        ):
            record_one("overseerr", check, result, now=start + timedelta(seconds=n))
    notes = [(n["kind"], n["message"]) for n in inbox_of(admin_client)["data"]]
    assert notes == [
        ("service.up", "Overseerr is back up."),
        ("service.down", "Overseerr is down: connection refused"),
    ]
    assert inbox_of(user_client)["data"] == []


def test_admins_hear_of_a_first_sign_in_and_a_failing_plugin(app, bob, admin_client, user_client):

    for _ in range(2):  # the first sign-in is told, the second is not
        with app.test_request_context():
            start_session(db.session.get(User, bob.id), via="plex")
    with app.test_request_context():
        record_faults({"cardtest": "dashboard_cards raised KeyError: 'x'"})
    notes = [n["kind"] for n in inbox_of(admin_client)["data"]]
    assert notes == ["plugin.failed", "user.first_sign_in"]
    message = inbox_of(admin_client)["data"][1]["message"]
    assert message == "Bob signed in for the first time (with Plex)."
    assert inbox_of(user_client)["data"] == []


def test_retention_is_an_admin_setting_and_the_purge_keeps_to_it(app, alice, user_client, admin_client):

    assert admin_client.get("/api/v1/admin/notifications/settings").get_json()["data"] == {"retention_days": 90}
    assert user_client.put("/api/v1/admin/notifications/settings", json={"retention_days": 5}).status_code == 403
    bad = admin_client.put("/api/v1/admin/notifications/settings", json={"retention_days": 0})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "VALIDATION_ERROR"
    assert admin_client.put("/api/v1/admin/notifications/settings", json={"retention_days": 30}).status_code == 200

    notify(app, alice.id, "old")
    notify(app, alice.id, "recent")
    with app.app_context():
        old = db.session.scalar(db.select(Notification).where(Notification.message == "old"))
        old.created_at = utcnow() - timedelta(days=31)
        db.session.commit()
    purge_notifications.apply()
    assert [n["message"] for n in inbox_of(user_client)["data"]] == ["recent"]

    form = admin_client.post("/admin/notifications", data={"retention_days": "soon"})
    assert form.status_code == 400 and "whole number of days" in form.get_data(as_text=True)
    audit = admin_client.get("/api/v1/admin/audit", query_string={"action": "notifications.retention"}).get_json()
    assert audit["data"][0]["details"] == {"from": 90, "to": 30}


@pytest.mark.sqlite_only
def test_the_routes_are_in_the_openapi_document(app, user_client):
    spec = user_client.get("/api/v1/openapi.json").get_json()
    for path in (API, f"{API}/unread", f"{API}/{{notification_id}}/read", f"{API}/read-all", f"{API}/channels"):
        assert path in spec["paths"], path
        assert path.replace("/me/", "/") in spec["paths"], path
    assert "unread" in {p["name"] for p in spec["paths"][API]["get"]["parameters"]}
