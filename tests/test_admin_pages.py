"""Admin pages (htmx forms) and the JSON they mirror: users, services, audit; password change."""

from __future__ import annotations

import pytest

from medianest.service_settings import MASK


def _user(app, user_id):
    from medianest.extensions import db
    from medianest.models import User

    with app.app_context():
        return db.session.get(User, user_id)


def test_admin_suspends_a_user_from_the_page_and_the_user_is_signed_out(app, admin_client, user_client, alice):
    assert user_client.get("/api/v1/auth/session").status_code == 200
    response = admin_client.post(
        f"/admin/users/{alice.id}", data={"status": "suspended"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert 'id="users"' in response.get_data(as_text=True)
    assert _user(app, alice.id).status == "suspended"
    assert user_client.get("/api/v1/auth/session").status_code == 401
    audit = admin_client.get("/api/v1/admin/audit").get_json()["data"]
    assert audit[0]["action"] == "user.updated"
    assert audit[0]["details"]["status"] == ["active", "suspended"]


def test_promote_demote_and_no_admin_can_lock_themself_out(app, admin_client, alice, admin_user):
    assert (
        admin_client.patch(f"/api/v1/admin/users/{alice.id}", json={"role": "admin"}).get_json()["data"]["role"]
        == "admin"
    )
    assert (
        admin_client.patch(f"/api/v1/admin/users/{alice.id}", json={"role": "user"}).get_json()["data"]["role"]
        == "user"
    )
    # Changing one's own role or status is refused, so the last active admin can never remove itself.
    own = admin_client.patch(f"/api/v1/admin/users/{admin_user.id}", json={"role": "user"})
    assert own.status_code == 409 and own.get_json()["error"]["code"] == "CONFLICT"
    own_status = admin_client.patch(f"/api/v1/admin/users/{admin_user.id}", json={"status": "suspended"})
    assert own_status.status_code == 409
    assert _user(app, admin_user.id).role == "admin" and _user(app, admin_user.id).status == "active"
    unknown = admin_client.patch("/api/v1/admin/users/999999", json={"role": "admin"})
    assert unknown.status_code == 404
    bad = admin_client.patch(f"/api/v1/admin/users/{alice.id}", json={"role": "owner"})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "VALIDATION_ERROR"


def test_page_errors_are_readable_messages(admin_client, admin_user):
    response = admin_client.post(f"/admin/users/{admin_user.id}", data={"role": "user"})
    assert response.status_code == 409
    assert "You can&#39;t change your own role" in response.get_data(as_text=True)


@pytest.mark.plugins("cardtest")
def test_service_settings_page_masks_secrets_and_keeps_them(app, admin_client):
    saved = admin_client.put(
        "/api/v1/admin/services/cardtest", json={"values": {"url": "http://cards.example:8080", "api_key": "good-key"}}
    )
    assert saved.status_code == 200, saved.get_json()
    page = admin_client.get("/admin/services").get_data(as_text=True)
    assert "good-key" not in page and "http://cards.example:8080" in page
    listed = {s["service"]: s for s in admin_client.get("/api/v1/admin/services").get_json()["data"]}
    fields = {f["name"]: f for f in listed["cardtest"]["fields"]}
    assert fields["api_key"]["value"] == MASK and fields["url"]["value"] == "http://cards.example:8080"
    # The mask coming back keeps the stored secret: the connection test still sees the real key.
    admin_client.post("/admin/services/cardtest", data={"url": "http://cards.example:9090", "api_key": MASK})
    tested = admin_client.post("/api/v1/admin/services/cardtest/test", json={"values": {}}).get_json()["data"]
    assert tested["ok"] is True
    bad = admin_client.put(
        "/api/v1/admin/services/cardtest", json={"values": {"url": "ftp://cards.example", "api_key": MASK}}
    )
    assert bad.status_code == 400
    assert "http" in bad.get_json()["error"]["message"]
    audit = admin_client.get("/api/v1/admin/audit").get_json()["data"]
    assert all("good-key" not in str(entry) for entry in audit)


def test_password_change_signs_out_other_sessions(app, client):
    from medianest.auth.passwords import hash_password
    from medianest.extensions import db
    from medianest.models import User

    with app.app_context():
        user = User(username="carol", is_local=True, password_hash=hash_password("first-password-123"))
        db.session.add(user)
        db.session.commit()
    other_browser = app.test_client()
    for browser in (client, other_browser):
        assert (
            browser.post("/api/v1/auth/login", json={"username": "carol", "password": "first-password-123"}).status_code
            == 200
        )
    wrong = client.post(
        "/auth/password",
        data={"current_password": "nope", "new_password": "second-password-456", "confirm": "second-password-456"},
    )
    assert wrong.status_code == 401
    changed = client.post(
        "/auth/password",
        data={
            "current_password": "first-password-123",
            "new_password": "second-password-456",
            "confirm": "second-password-456",
        },
    )
    assert changed.status_code == 302
    assert client.get("/api/v1/auth/session").status_code == 200
    assert other_browser.get("/api/v1/auth/session").status_code == 401
    fresh = app.test_client()
    assert (
        fresh.post("/api/v1/auth/login", json={"username": "carol", "password": "second-password-456"}).status_code
        == 200
    )


def test_env_set_admin_password_cannot_be_changed_in_the_browser(admin_client):
    response = admin_client.post(
        "/auth/password", data={"current_password": "x", "new_password": "y" * 14, "confirm": "y" * 14}
    )
    assert response.status_code == 409 or response.status_code == 400 or response.status_code == 403
    assert "MEDIANEST_ADMIN_PASSWORD" in response.get_data(as_text=True)


@pytest.mark.plugins("cardtest")
def test_a_save_names_the_service_and_its_fields_and_raises_a_toast(app, admin_client):
    import json

    answer = admin_client.post(
        "/admin/services/cardtest",
        data={"url": "http://cards.example:8080", "api_key": "k"},
        headers={"HX-Request": "true"},
    )
    toast = json.loads(answer.headers["HX-Trigger"])["medianest.toast"]
    assert toast == {"level": "success", "message": "Card test: saved URL, API key."}
    assert "Card test: saved URL, API key." in answer.get_data(as_text=True)
    again = admin_client.post(
        "/admin/services/cardtest", data={"url": "http://cards.example:8080"}, headers={"HX-Request": "true"}
    )
    assert json.loads(again.headers["HX-Trigger"])["medianest.toast"]["message"] == "Card test: nothing changed."
