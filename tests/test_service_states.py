"""States a person understands: not set up, set up wrong, cleared; and Plex settings that never lock anyone out."""

from __future__ import annotations

from medianest.extensions import db
from medianest.models import Invite, ServiceStatus
from medianest.plugins.types import HealthCheck, HealthResult
from medianest.status import record_one
from tests.standins.base import closed_port
from tests.standins.plex import PlexServerStandin

GOOD = "Tulip-Radio-Velvet-91"


def _eager_jobs(app) -> None:
    """Background jobs run inside the call that queues them (Celery's own switch), so a test sees their effect."""
    app.extensions["celery"].conf.task_always_eager = True


def _save_plex(admin_client, **values):
    answer = admin_client.put("/api/v1/admin/services/plex", json={"values": values})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()["data"]


def _plex_sign_in(app, plex_tv, account, start="/api/v1/auth/plex/pin"):
    client = app.test_client()
    started = client.post(start)
    assert started.status_code == 201, started.get_data(as_text=True)
    plex_tv.claim_pin(started.get_json()["data"]["code"], account)
    return client, client.get("/api/v1/auth/plex/pin")


# ---------------------------------------------------------------- clearing and re-checking
def test_an_admin_clears_a_service_and_the_save_rechecks_it_at_once(app, admin_client):

    _eager_jobs(app)
    server = PlexServerStandin(token="right-token")
    server.start()
    try:
        saved = _save_plex(admin_client, url=server.url, token="right-token")
        assert saved["configured"]
        with app.app_context():
            row = db.session.get(ServiceStatus, "plex")
            assert row is not None and row.status == "online"  # checked by the save, not by a later periodic run

        # Saving without the URL is refused, and says how to stop using the service instead.
        refused = admin_client.put("/api/v1/admin/services/plex", json={"values": {"url": ""}})
        assert refused.status_code == 400
        assert "Server URL: Required" in refused.get_json()["error"]["message"]
        assert "clear its settings" in refused.get_json()["error"]["message"]

        cleared = admin_client.delete("/api/v1/admin/services/plex")
        assert cleared.status_code == 200
        data = cleared.get_json()["data"]
        assert not data["configured"]
        assert {f["name"]: f["is_set"] for f in data["fields"]}["url"] is False
        with app.app_context():
            assert db.session.get(ServiceStatus, "plex").status == "unconfigured"
        audit = admin_client.get("/api/v1/admin/audit", query_string={"action": "service.cleared"}).get_json()
        assert audit["data"][0]["target"] == "service:plex"
    finally:
        server.stop()


def test_the_settings_page_asks_before_clearing_and_names_the_wrong_setting(app, admin_client):
    _eager_jobs(app)
    server = PlexServerStandin(token="right-token")
    server.start()
    try:
        _save_plex(admin_client, url=server.url, token="a-wrong-token")
        page = admin_client.get("/admin/services").get_data(as_text=True)
        assert 'hx-confirm="Clear every saved setting of Plex Media Server?' in page
        assert "Check the setting “Server token”" in page
        answer = admin_client.post("/admin/services/plex/clear", headers={"HX-Request": "true"})
        assert answer.status_code == 200
        assert "Cleared: Plex Media Server is no longer configured." in answer.get_data(as_text=True)
    finally:
        server.stop()


def test_only_admins_clear_services(app, user_client, admin_client):
    assert user_client.delete("/api/v1/admin/services/plex").status_code == 403
    assert admin_client.delete("/api/v1/admin/services/no-such-service").status_code == 404


# ---------------------------------------------------------------- the dashboard's words
def _record(app, service: str, status: str, error: str | None = None, details: dict | None = None) -> None:

    names = {"plex": "Plex Media Server", "overseerr": "Overseerr"}
    with app.app_context():
        check = HealthCheck(name=service, check=lambda: None, display_name=names[service])
        record_one(service, check, HealthResult(status, error=error, details=details or {}))


def test_not_set_up_is_neutral_and_says_what_to_do(app, admin_client, user_client):
    _record(app, "overseerr", "unconfigured", "URL or API key not set")
    _record(app, "overseerr", "unconfigured", "URL or API key not set")
    headers = {"HX-Request": "true"}
    as_admin = admin_client.get("/dashboard/cards/services", headers=headers).get_data(as_text=True)
    assert 'data-role="unconfigured"' in as_admin
    assert "/admin/services#service-overseerr" in as_admin
    assert "service-error" not in as_admin and "URL or API key not set" not in as_admin
    assert "spark-down" not in as_admin  # two "not set up" checks are not drawn as outages
    as_user = user_client.get("/dashboard/cards/services", headers=headers).get_data(as_text=True)
    assert "Ask your admin" in as_user and "/admin/services" not in as_user


def test_a_wrong_setting_is_named_on_the_dashboard(app, admin_client):
    _record(app, "plex", "degraded", "Plex answers, but refuses the server token.", {"setting": "token"})
    card = admin_client.get("/dashboard/cards/services", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'data-role="misconfigured" data-setting="token"' in card
    assert "/admin/services#service-plex" in card


def test_the_plex_page_without_plex_is_a_friendly_page(app, admin_client, user_client):
    as_admin = admin_client.get("/plex/")
    page = as_admin.get_data(as_text=True)
    assert "Plex Media Server is not set up yet" in page
    assert "/admin/services#service-plex" in page
    as_user = user_client.get("/plex/").get_data(as_text=True)
    assert "Ask your admin" in as_user and "/admin/services" not in as_user
    # Scripts still get the envelope.
    assert user_client.get("/api/v1/plex/libraries").get_json()["error"]["code"] == "NOT_CONFIGURED"


# ---------------------------------------------------------------- Plex settings never lock people out
def test_a_misconfigured_plex_server_is_named_and_never_blocks_local_sign_in(plex_app, plex_tv, admin_client):
    from tests.support.apps import ADMIN_PASSWORD

    _save_plex(admin_client, url=f"http://127.0.0.1:{closed_port()}", token="not-a-real-token")
    account = plex_tv.add_account("ivy", "ivy@example.org")
    _, answer = _plex_sign_in(plex_app, plex_tv, account)
    assert answer.status_code == 503
    error = answer.get_json()["error"]
    assert error["code"] == "PLEX_SERVER_MISCONFIGURED"
    assert error["details"]["service"] == "plex" and error["details"]["setting"] == "token"
    assert (
        "Plex Media Server settings" in error["message"] and "not a problem with your Plex account" in error["message"]
    )
    assert "refused MediaNest's credentials" not in error["message"]

    local = plex_app.test_client().post("/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert local.status_code == 200

    # Switching the Plex plugin off does not open Plex sign-in to every account: the check stays,
    # still naming the settings.  Clearing the settings is what lifts it.
    assert admin_client.patch("/api/v1/admin/plugins/plex", json={"enabled": False}).status_code == 200
    _, answer = _plex_sign_in(plex_app, plex_tv, account)
    assert answer.status_code == 503 and answer.get_json()["error"]["code"] == "PLEX_SERVER_MISCONFIGURED"
    assert admin_client.patch("/api/v1/admin/plugins/plex", json={"enabled": True}).status_code == 200
    assert admin_client.delete("/api/v1/admin/services/plex").status_code == 200
    _, answer = _plex_sign_in(plex_app, plex_tv, account)
    assert answer.status_code == 200


def test_an_invitation_lets_a_plex_account_in_with_its_role(plex_app, plex_tv, admin_client):

    server = PlexServerStandin(token="owner-token")
    server.start()
    try:
        _save_plex(admin_client, url=server.url, token="owner-token")
        stranger = plex_tv.add_account("jules", "jules@example.org", title="Jules")
        _, refused = _plex_sign_in(plex_app, plex_tv, stranger)
        assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "PLEX_NO_ACCESS"

        invite = admin_client.post("/api/v1/admin/invites", json={"role": "user", "note": "Jules"}).get_json()["data"]
        client = plex_app.test_client()
        started = client.post(f"/invite/{invite['token']}/plex")
        assert started.status_code == 302 and started.headers["Location"].endswith("/auth/plex")
        plex_tv.claim_pin(plex_tv.pins[max(plex_tv.pins)].code, stranger)
        answer = client.get("/api/v1/auth/plex/pin").get_json()["data"]
        assert answer["status"] == "authorized" and answer["user"]["role"] == "user"
        with plex_app.app_context():
            row = db.session.get(Invite, invite["id"])
            assert row.state() == "used" and row.used_by_id == answer["user"]["id"]
        used = plex_app.test_client().post(f"/invite/{invite['token']}/plex")
        assert used.status_code == 410 and "already used" in used.get_data(as_text=True)
    finally:
        server.stop()


def test_a_refused_overseerr_key_names_the_api_key_setting(app, admin_client):
    from tests.standins.overseerr import OverseerrStandin

    _eager_jobs(app)
    overseerr = OverseerrStandin(api_key="the-right-key")
    overseerr.start()
    try:
        saved = admin_client.put(
            "/api/v1/admin/services/overseerr", json={"values": {"url": overseerr.url, "api_key": "a-wrong-key"}}
        )
        assert saved.status_code == 200, saved.get_data(as_text=True)
        with app.app_context():
            row = db.session.get(ServiceStatus, "overseerr")
            assert row.status == "degraded" and row.details == {"setting": "api_key"}
            assert "refuses the API key" in row.error
        page = admin_client.get("/admin/services").get_data(as_text=True)
        assert "Check the setting “API key”" in page
    finally:
        overseerr.stop()
