"""Signing in with Plex: the PIN flow against a local plex.tv stand-in, and who may come in."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from medianest.auth.plex import plex_token_for
from medianest.extensions import db
from medianest.models import User
from tests.standins.plex import PlexServerStandin, validate_plex_requests


def _start(client):
    answer = client.post("/api/v1/auth/plex/pin")
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return answer.get_json()["data"]


def _auth_params(url: str) -> dict[str, str]:
    parsed = urlparse(url)
    assert f"{parsed.scheme}://{parsed.netloc}{parsed.path}" == "https://app.plex.tv/auth"
    return {k: v[0] for k, v in parse_qs(parsed.fragment.lstrip("?")).items()}


def test_pin_flow_signs_in_and_stores_the_token_encrypted(plex_app, plex_tv):

    account = plex_tv.add_account("dora", "dora@example.org", title="Dora")
    client = plex_app.test_client()
    data = _start(client)
    assert data["status"] == "waiting" and len(data["code"]) == 25
    params = _auth_params(data["auth_url"])
    assert params["code"] == data["code"]
    assert params["context[device][product]"] == "MediaNest"
    pin = plex_tv.find_pin(data["code"])
    assert params["clientID"] == pin.client_identifier
    # The PIN id lives in the signed session only, never in what the browser is told.
    assert str(pin.id) not in str(data)

    assert client.get("/api/v1/auth/plex/pin").get_json()["data"]["status"] == "waiting"
    plex_tv.claim_pin(pin.id, account)
    answer = client.get("/api/v1/auth/plex/pin").get_json()
    assert answer["success"], answer
    answer = answer["data"]
    assert answer["status"] == "authorized"
    assert answer["user"]["username"] == "dora" and answer["user"]["role"] == "user"
    assert client.get("/api/v1/auth/session").get_json()["data"]["name"] == "Dora"

    with plex_app.app_context():
        user = db.session.scalar(db.select(User).where(User.plex_id == str(account.id)))
        assert user.plex_token and account.token not in user.plex_token
        assert plex_token_for(user.id) == account.token

    # One client identifier per installation; every call had the headers plex.tv needs.
    _start(plex_app.test_client())
    assert len({p.client_identifier for p in plex_tv.pins.values()}) == 1
    assert validate_plex_requests(plex_tv) == []


def test_expired_pin_answers_expired_then_not_started(plex_app, plex_tv):
    client = plex_app.test_client()
    data = _start(client)
    plex_tv.expire_pin(data["code"])
    answer = client.get("/api/v1/auth/plex/pin")
    assert answer.status_code == 200
    body = answer.get_json()["data"]
    assert body["status"] == "expired" and "expired" in body["message"]
    again = client.get("/api/v1/auth/plex/pin")
    assert again.status_code == 400
    assert again.get_json()["error"]["code"] == "PIN_NOT_STARTED"
    assert client.get("/api/v1/auth/session").status_code == 401


@pytest.fixture
def plex_server(monkeypatch):
    server = PlexServerStandin(token="server-owner-token")
    server.start()
    monkeypatch.setenv("MEDIANEST_PLEX_URL", server.url)
    monkeypatch.setenv("MEDIANEST_PLEX_TOKEN", server.token)
    yield server
    server.stop()


def _sign_in_as(app, plex_tv, account):
    client = app.test_client()
    data = _start(client)
    plex_tv.claim_pin(data["code"], account)
    return client, client.get("/api/v1/auth/plex/pin")


def test_with_a_server_configured_only_accounts_with_access_come_in_and_the_owner_is_admin(
    plex_app, plex_tv, plex_server
):
    owner = plex_tv.add_account("owner", "owner@example.org", token=plex_server.token)
    friend = plex_tv.add_account("friend", "friend@example.org")
    stranger = plex_tv.add_account("stranger", "stranger@example.org")
    plex_tv.grant_server(owner, plex_server.machine_identifier, owned=True, uri=plex_server.url)
    plex_tv.grant_server(friend, plex_server.machine_identifier, owned=False, uri=plex_server.url)
    plex_tv.grant_server(stranger, "another-server-entirely", owned=True)

    client, answer = _sign_in_as(plex_app, plex_tv, stranger)
    assert answer.status_code == 403
    error = answer.get_json()["error"]
    assert error["code"] == "PLEX_NO_ACCESS" and "stranger" in error["message"]
    assert client.get("/api/v1/auth/session").status_code == 401

    _, answer = _sign_in_as(plex_app, plex_tv, owner)
    assert answer.status_code == 200 and answer.get_json()["data"]["user"]["role"] == "admin"
    _, answer = _sign_in_as(plex_app, plex_tv, friend)
    assert answer.status_code == 200 and answer.get_json()["data"]["user"]["role"] == "user"
    assert validate_plex_requests(plex_tv) == []


def test_a_suspended_plex_user_cannot_sign_in_again(plex_app, plex_tv, admin_client):
    account = plex_tv.add_account("erin", "erin@example.org")
    _, answer = _sign_in_as(plex_app, plex_tv, account)
    user_id = answer.get_json()["data"]["user"]["id"]
    assert admin_client.patch(f"/api/v1/admin/users/{user_id}", json={"status": "suspended"}).status_code == 200
    _, answer = _sign_in_as(plex_app, plex_tv, account)
    assert answer.status_code == 403
    assert answer.get_json()["error"]["code"] == "ACCOUNT_SUSPENDED"


@pytest.mark.sqlite_only
def test_plex_unreachable_is_a_clear_error(app):
    from tests.standins.base import closed_port

    app.config["MEDIANEST"] = app.config["MEDIANEST"].model_copy(
        update={"plex_tv_url": f"http://127.0.0.1:{closed_port()}"}
    )
    answer = app.test_client().post("/api/v1/auth/plex/pin")
    assert answer.status_code == 503
    assert answer.get_json()["error"]["code"] == "SERVICE_UNAVAILABLE"


# ---------------------------------------------------------------- in a real browser
@pytest.mark.browser
@pytest.mark.slow
def test_pin_sign_in_in_chromium(live_server_factory, plex_tv, browser):
    account = plex_tv.add_account("fiona", "fiona@example.org", title="Fiona")
    server = live_server_factory(env={"MEDIANEST_PLEX_TV_URL": plex_tv.url})

    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(server.url + "/auth/login")
        page.click("#plex-signin button[type=submit]")
        code = page.locator("#plex-code").inner_text().strip()
        assert len(code) == 25
        link = page.locator("#plex-auth-link").get_attribute("href")
        params = _auth_params(link)
        assert params["code"] == code and params["context[device][product]"] == "MediaNest"
        assert params["clientID"] == plex_tv.find_pin(code).client_identifier
        assert str(plex_tv.find_pin(code).id) not in page.content()

        plex_tv.claim_pin(code, account)  # the person approves at plex.tv; the page notices by polling
        page.wait_for_url(server.url + "/")
        assert "Fiona" in page.content()

        # Expiry: a second browser starts, nobody approves, plex.tv forgets the PIN.
        other = browser.new_context().new_page()
        other.set_default_timeout(15_000)
        other.goto(server.url + "/auth/login")
        other.click("#plex-signin button[type=submit]")
        second = other.locator("#plex-code").inner_text().strip()
        plex_tv.expire_pin(second)
        other.wait_for_selector("#plex-signin[data-state=expired]")
        assert "expired" in other.locator("#plex-signin").inner_text()
        assert other.url.startswith(server.url + "/auth/login")
        other.context.close()
    finally:
        context.close()
    assert validate_plex_requests(plex_tv) == []


def test_hook_sign_in_server_switching_the_plugin_off_does_not_open_sign_in(
    plex_app, plex_tv, plex_server, admin_client
):
    """The server comes from the plugin's ``sign_in_server`` hook, asked enabled or not."""
    stranger = plex_tv.add_account("stranger", "stranger@example.org")
    plex_tv.grant_server(stranger, "another-server-entirely", owned=True)
    assert admin_client.patch("/api/v1/admin/plugins/plex", json={"enabled": False}).status_code == 200

    _, answer = _sign_in_as(plex_app, plex_tv, stranger)
    assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "PLEX_NO_ACCESS"


def test_a_failing_sign_in_hook_closes_sign_in(plex_app, plex_tv, plex_server, monkeypatch):
    import medianest_plex.plugin

    def broken(*args, **kwargs):
        raise RuntimeError("settings unreadable")

    monkeypatch.setattr(medianest_plex.plugin, "service_config", broken)
    stranger = plex_tv.add_account("stranger", "stranger@example.org")
    plex_tv.grant_server(stranger, "another-server-entirely", owned=True)

    client, answer = _sign_in_as(plex_app, plex_tv, stranger)
    assert answer.status_code == 503
    error = answer.get_json()["error"]
    assert error["code"] == "SERVICE_UNAVAILABLE" and error["details"]["plugins"] == ["plex"]
    assert client.get("/api/v1/auth/session").status_code == 401
