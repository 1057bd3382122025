"""After signing in, ``next`` is followed only to a path on this site: every hostile value
ends on the dashboard, by the form, the Plex PIN flow and in a real browser."""

from __future__ import annotations

import re

import pytest

from medianest.auth.views import is_local_path
from tests.standins.plex import PlexTvStandin
from tests.support.apps import ADMIN_PASSWORD

# As the server receives them (form values and query parameters are already decoded once).
HOSTILE = [
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/dashboard\r\nSet-Cookie: x=1",
    "/%09/evil.example",
    "/%0a/evil.example",
    "/%2F/evil.example",
    "/%2f%2fevil.example",
    "/%5Cevil.example",
    "/%255C%255Cevil.example",
    "/%252F/evil.example",
    "/\x00/evil.example",
    "/\u2028/evil.example",
    "/\u200b/evil.example",
    "https://evil.example",
    "http:/evil.example",
    "javascript:alert(1)",
    "evil.example",
    " //evil.example",
    "%2F%2Fevil.example",
    "",
]
# A NUL is refused before any view reads the form (tests/test_bad_input.py).
HOSTILE_IN_FLOWS = [value for value in HOSTILE if "\x00" not in value]
SAFE = ["/youtube/", "/auth/tokens?x=1", "/media/?query=star%20wars", "/plex/libraries/1"]


@pytest.mark.sqlite_only
@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_are_not_local_paths(value):
    assert not is_local_path(value)


@pytest.mark.sqlite_only
@pytest.mark.parametrize("value", SAFE)
def test_paths_of_this_site_are(value):
    assert is_local_path(value)


def _location(answer) -> str:
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    return answer.headers["Location"]


@pytest.mark.settings(rate_limit_login="1000/minute")
def test_the_sign_in_form_ends_on_the_dashboard_for_every_hostile_next(app):
    for value in HOSTILE_IN_FLOWS:
        client = app.test_client()
        answer = client.post("/auth/login", data={"username": "admin", "password": ADMIN_PASSWORD, "next": value})
        assert _location(answer) == "/", repr(value)
    for value in SAFE:
        client = app.test_client()
        answer = client.post("/auth/login", data={"username": "admin", "password": ADMIN_PASSWORD, "next": value})
        assert _location(answer) == value


@pytest.mark.settings(rate_limit_login="1000/minute")
def test_the_sign_in_page_carries_only_a_safe_next(app):
    client = app.test_client()
    for value in ("/%09/evil.example", "//evil.example", "/\\evil.example"):
        page = client.get("/auth/login", query_string={"next": value}).get_data(as_text=True)
        assert re.findall(r'name="next" value="([^"]*)"', page) == ["", ""], value
    page = client.get("/auth/login", query_string={"next": "/youtube/"}).get_data(as_text=True)
    assert re.findall(r'name="next" value="([^"]*)"', page) == ["/youtube/", "/youtube/"]
    # A wrong password re-renders the form: the hostile value is not carried on.
    again = client.post("/auth/login", data={"username": "admin", "password": "wrong", "next": "//evil.example"})
    assert again.status_code == 401
    assert re.findall(r'name="next" value="([^"]*)"', again.get_data(as_text=True)) == ["", ""]


def _plex_sign_in(app, plex_tv, account, value: str, htmx: bool) -> str:
    client = app.test_client()
    headers = {"HX-Request": "true"} if htmx else {}
    started = client.post("/auth/plex", data={"next": value}, headers=headers)
    assert started.status_code in (200, 302), started.get_data(as_text=True)[:500]
    code = re.search(r'id="plex-code"[^>]*>\s*([^<\s]+)', client.get("/auth/plex").get_data(as_text=True))[1]
    plex_tv.claim_pin(code, account)
    finished = client.get("/auth/plex", headers=headers)
    if htmx:
        assert finished.status_code == 200
        return finished.headers["HX-Redirect"]
    return _location(finished)


@pytest.mark.settings(rate_limit_login="1000/minute")
def test_the_plex_sign_in_ends_on_the_dashboard_for_every_hostile_next(plex_app, plex_tv):
    account = plex_tv.add_account("gina", "gina@example.org", title="Gina")
    for value in HOSTILE_IN_FLOWS:
        assert _plex_sign_in(plex_app, plex_tv, account, value, htmx=True) == "/", repr(value)
    assert _plex_sign_in(plex_app, plex_tv, account, "/%09/evil.example", htmx=False) == "/"
    assert _plex_sign_in(plex_app, plex_tv, account, "/youtube/", htmx=False) == "/youtube/"


@pytest.mark.settings(rate_limit_login="1000/minute")
def test_api_sign_in_and_setup_follow_no_next(app):
    from medianest.extensions import db
    from medianest.models import InstallationValue

    client = app.test_client()
    answer = client.post(
        "/api/v1/auth/login?next=//evil.example", json={"username": "admin", "password": ADMIN_PASSWORD}
    )
    assert answer.status_code == 200 and "Location" not in answer.headers
    with app.app_context():
        db.session.add(InstallationValue(key="admin_setup_token", value="setup-token-for-redirects"))
        db.session.commit()
    setup = app.test_client().post(
        "/setup/setup-token-for-redirects?next=//evil.example",
        data={"password": "a-long-new-password", "confirm": "a-long-new-password", "next": "//evil.example"},
    )
    assert _location(setup) == "/"


@pytest.mark.browser
@pytest.mark.sqlite_only
def test_chromium_lands_on_the_dashboard(live_server_factory, browser):
    plex_tv = PlexTvStandin()
    plex_tv.start()
    try:
        account = plex_tv.add_account("hana", "hana@example.org", title="Hana")
        server = live_server_factory(env={"MEDIANEST_PLEX_TV_URL": plex_tv.url})
        for how in ("form", "plex"):
            context = browser.new_context()
            page = context.new_page()
            page.set_default_timeout(15_000)
            try:
                page.goto(server.url + "/auth/login?next=/%09/evil.example")
                if how == "form":
                    page.fill("input[name=username]", "admin")
                    page.fill("input[name=password]", ADMIN_PASSWORD)
                    page.click("#local-login button[type=submit]")
                else:
                    page.click("#plex-signin button[type=submit]")
                    plex_tv.claim_pin(page.locator("#plex-code").inner_text().strip(), account)
                page.wait_for_url(server.url + "/")
                assert page.url == server.url + "/"
            finally:
                context.close()
        # And a safe next is still followed.
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            page.goto(server.url + "/auth/tokens")
            assert "/auth/login" in page.url
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", ADMIN_PASSWORD)
            page.click("#local-login button[type=submit]")
            page.wait_for_url(server.url + "/auth/tokens")
        finally:
            context.close()
    finally:
        plex_tv.stop()
