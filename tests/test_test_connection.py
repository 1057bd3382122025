"""Stored secrets only go where they were saved: "Test connection" against another URL, and the webhook secret."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from medianest.http import reset_clients
from medianest.service_settings import MASK, save_service_config, service_definitions
from tests.standins.overseerr import OverseerrStandin
from tests.standins.plex import PlexServerStandin

API_KEY = "saved-overseerr-key"
WEBHOOK_SECRET = "saved-webhook-secret-0123456789"
PLEX_TOKEN = "saved-plex-token"


def _headers_seen(standin) -> list[dict[str, str]]:
    return [dict(r.headers) for r in standin.requests]


def _any_header_carries(standin, secret: str) -> bool:
    return any(secret in value for headers in _headers_seen(standin) for value in headers.values()) or any(
        secret in r.path for r in standin.requests
    )


@pytest.fixture
def saved_overseerr() -> Iterator[OverseerrStandin]:
    with OverseerrStandin(api_key=API_KEY) as server:
        yield server


@pytest.fixture
def elsewhere() -> Iterator[OverseerrStandin]:
    """Another server, at an address nobody saved."""
    with OverseerrStandin() as server:
        yield server


def _save(app, service: str, values: dict[str, str]) -> None:

    with app.app_context():
        secret = {f.name for f in service_definitions()[service].fields if f.secret}
        save_service_config(service, values, secret)
        reset_clients()


@pytest.fixture
def overseerr_saved(app, saved_overseerr) -> OverseerrStandin:
    _save(app, "overseerr", {"url": saved_overseerr.url, "api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET})
    return saved_overseerr


def _test(client, service: str, values: dict):
    return client.post(f"/api/v1/admin/services/{service}/test", json={"values": values})


def test_an_unsaved_url_never_receives_the_saved_overseerr_key(app, admin_client, overseerr_saved, elsewhere):

    for values in ({"url": elsewhere.url}, {"url": elsewhere.url, "api_key": MASK}, {"url": elsewhere.url + "/"}):
        answer = _test(admin_client, "overseerr", values)
        assert answer.status_code == 400, answer.get_json()
        error = answer.get_json()["error"]
        assert error["code"] == "SECRET_REQUIRED"
        assert "API key" in error["message"] and "Webhook secret" not in error["message"]
        assert error["details"]["fields"] == [{"field": "api_key", "message": "Enter it again for this address."}]
    assert elsewhere.requests == []  # not one call, so no header at all

    # Typed anew, the key given is the one sent, and the saved secrets stay home.
    typed = _test(admin_client, "overseerr", {"url": elsewhere.url, "api_key": "typed-for-this-test"})
    assert typed.status_code == 200 and typed.get_json()["data"]["ok"] is False  # that server has another key
    assert [h.get("X-Api-Key") for h in _headers_seen(elsewhere)] == ["typed-for-this-test"] * len(elsewhere.requests)
    assert elsewhere.requests
    assert not _any_header_carries(elsewhere, API_KEY) and not _any_header_carries(elsewhere, WEBHOOK_SECRET)

    # The saved URL (with or without a trailing slash) still gets the saved key.
    assert overseerr_saved.requests == []
    for values in ({}, {"url": overseerr_saved.url + "/", "api_key": MASK}):
        answer = _test(admin_client, "overseerr", values)
        assert answer.status_code == 200 and answer.get_json()["data"]["ok"] is True, answer.get_json()
    assert {h.get("X-Api-Key") for h in _headers_seen(overseerr_saved)} == {API_KEY}


@pytest.mark.sqlite_only
def test_the_admin_form_names_the_field_and_sends_nothing(app, admin_client, overseerr_saved, elsewhere):

    form = {"url": elsewhere.url, "api_key": MASK, "webhook_secret": MASK, "fallback_to_admin": "refuse"}
    page = admin_client.post("/admin/services/overseerr/test", data=form, headers={"HX-Request": "true"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Failed" in text and "API key: enter it again" in text
    assert elsewhere.requests == []


def test_an_unsaved_url_never_receives_the_saved_plex_token(app, admin_client):
    with PlexServerStandin(token=PLEX_TOKEN) as saved, PlexServerStandin(token="other-token") as other:
        _save(app, "plex", {"url": saved.url, "token": PLEX_TOKEN})
        refused = _test(admin_client, "plex", {"url": other.url})
        assert refused.status_code == 400
        assert refused.get_json()["error"]["details"]["fields"][0]["field"] == "token"
        assert "Server token" in refused.get_json()["error"]["message"]
        assert other.requests == []

        typed = _test(admin_client, "plex", {"url": other.url, "token": "other-token"})
        assert typed.get_json()["data"]["ok"] is True, typed.get_json()
        assert {h.get("X-Plex-Token") for h in _headers_seen(other)} == {"other-token"}
        assert not _any_header_carries(other, PLEX_TOKEN)

        assert _test(admin_client, "plex", {}).get_json()["data"]["ok"] is True
        assert PLEX_TOKEN in {h.get("X-Plex-Token") for h in _headers_seen(saved)}


def test_the_webhook_secret_is_never_in_a_description(app, admin_client, overseerr_saved):
    listed = {s["service"]: s for s in admin_client.get("/api/v1/admin/services").get_json()["data"]}
    overseerr = listed["overseerr"]
    assert WEBHOOK_SECRET not in str(overseerr)
    assert "/media/admin/webhook" in overseerr["description"]  # where to reveal it, on purpose
    assert next(f for f in overseerr["fields"] if f["name"] == "webhook_secret")["value"] == "••••••••"
    page = admin_client.get("/admin/services").get_data(as_text=True)
    assert WEBHOOK_SECRET not in page
    # The webhook page, opened deliberately by an admin, shows the header to paste.
    assert f"Bearer {WEBHOOK_SECRET}" in admin_client.get("/media/admin/webhook").get_data(as_text=True)
