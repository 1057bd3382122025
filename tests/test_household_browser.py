"""In headless Chromium, on a desktop and on a 390-px phone: an invited person joins and sees only their
own things; an admin locked out of Plex sign-in by wrong Plex settings signs in locally and fixes them."""

from __future__ import annotations

import pytest

from tests.conftest import browser_sign_in, wait_js
from tests.standins.base import closed_port
from tests.standins.plex import PlexServerStandin, PlexTvStandin

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
GOOD = "Tulip-Radio-Velvet-91"
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"
PLEX_ROW = "document.querySelector('#card-services [data-service=\"plex\"]')?.dataset.status"


def _context(browser, viewport: str):
    phone = viewport == "phone"
    context = browser.new_context(viewport=VIEWPORTS[viewport], is_mobile=phone, has_touch=phone)
    context.set_default_timeout(15_000)
    return context


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_an_invited_person_joins_and_sees_only_their_own_things(live_server_factory, browser, viewport):
    server = live_server_factory()
    admin_http = server.session()
    token = admin_http.post(server.url + "/api/v1/auth/tokens", json={"name": "admin's backup script"}, timeout=10)
    assert token.status_code == 201

    admin = _context(browser, viewport)
    guest = _context(browser, viewport)
    late = _context(browser, viewport)
    try:
        page = admin.new_page()
        browser_sign_in(page, server)
        page.goto(server.url + "/admin/users")
        page.fill("#invite-form input[name=note]", "Grandma")
        page.click("#invite-form button[type=submit]")
        link = page.locator("#new-invite-url").input_value()
        assert link.startswith(server.url + "/invite/")
        assert page.locator("#invites [data-invite]").count() == 1

        tab = guest.new_page()
        tab.goto(link)
        assert "You're invited, Grandma" in tab.locator("h1").inner_text()
        assert tab.evaluate(NO_SIDEWAYS_SCROLL)
        tab.fill("#invite-local input[name=username]", "grandma")
        tab.fill("#invite-local input[name=password]", "aaaaaaaaaaaa")
        tab.fill("#invite-local input[name=confirm]", "aaaaaaaaaaaa")
        tab.click("#invite-local button[type=submit]")
        error = tab.locator("#invite [data-code=WEAK_PASSWORD]")
        assert "too easy to guess" in error.inner_text() and 'Repeats like "aaa"' in error.inner_text()
        assert tab.locator("#invite-local input[name=username]").input_value() == "grandma"  # the form is kept

        tab.fill("#invite-local input[name=password]", GOOD)
        tab.fill("#invite-local input[name=confirm]", GOOD)
        tab.click("#invite-local button[type=submit]")
        tab.wait_for_url(lambda url: url in (server.url + "/", server.url + "/?cards=inline"))
        assert tab.locator(".topbar .who").inner_text() == "Grandma"
        # Only their own things: no admin link, the admin pages refused, none of the admin's tokens.
        assert tab.locator("nav.nav a", has_text="Admin").count() == 0
        refused = tab.goto(server.url + "/admin/users")
        assert refused.status == 403
        tab.goto(server.url + "/auth/tokens")
        assert "admin's backup script" not in tab.content()
        assert tab.evaluate(NO_SIDEWAYS_SCROLL)

        # The link worked once: the next visitor is told so, and sent to sign in.
        other = late.new_page()
        answer = other.goto(link)
        assert answer.status == 410
        assert other.locator("h1").inner_text() == "This invitation was already used"
        assert "Nothing here" not in other.content()
        other.click("text=Go to sign-in")
        other.wait_for_url(server.url + "/auth/login")

        # The admin sees the new person, signed in just now, and the invitation gone from the open ones.
        page.goto(server.url + "/admin/users")
        row = page.locator("tr", has_text="grandma")
        assert "never" not in row.inner_text()
        assert page.locator("#invites").count() == 0
    finally:
        for context in (admin, guest, late):
            context.close()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_an_admin_locked_out_of_plex_sign_in_signs_in_locally_and_fixes_the_settings(
    live_server_factory, browser, viewport
):
    plex_tv = PlexTvStandin()
    plex_tv.start()
    plex = PlexServerStandin(token="owner-token")
    plex.start()
    context = _context(browser, viewport)
    try:
        owner = plex_tv.add_account("owner", "owner@example.org", title="Owner", token=plex.token)
        plex_tv.grant_server(owner, plex.machine_identifier, owned=True, uri=plex.url)
        server = live_server_factory(env={"MEDIANEST_PLEX_TV_URL": plex_tv.url})
        # Plex set up wrong: a server address nothing answers at, and a token plex.tv does not know.
        wrong = {"url": f"http://127.0.0.1:{closed_port()}", "token": "mistyped-token"}
        saved = server.session().put(server.url + "/api/v1/admin/services/plex", json={"values": wrong}, timeout=10)
        assert saved.status_code == 200

        page = context.new_page()
        page.goto(server.url + "/auth/login")
        page.click("#plex-signin button[type=submit]")
        code = page.locator("#plex-code").inner_text().strip()
        plex_tv.claim_pin(code, owner)
        page.wait_for_selector("#plex-signin[data-state=error]")
        message = page.locator("#plex-signin [data-code=PLEX_SERVER_MISCONFIGURED]").inner_text()
        assert "Plex Media Server settings" in message and "not a problem with your Plex account" in message
        assert "refused MediaNest's credentials" not in message

        # The local account still gets in, whatever Plex's settings say.
        browser_sign_in(page, server)
        wait_js(page, "document.body.dataset.live === '1'")
        wait_js(page, f"['offline', 'degraded'].includes({PLEX_ROW})", timeout=20)
        # The Plex link in the bar leads to a page that says what is wrong and where to fix it.
        page.goto(server.url + "/plex/")
        assert page.locator("#service-unavailable").count() == 1
        page.click("#service-unavailable a.button")
        page.wait_for_url(server.url + "/admin/services#service-plex")

        # A dashboard open in another tab follows every change without a reload.
        dashboard = context.new_page()
        dashboard.goto(server.url + "/")
        wait_js(dashboard, "document.body.dataset.live === '1'")
        dashboard.evaluate("window.__noReload = true")

        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#service-plex .clear-settings button")
        notice = page.locator("#service-plex .flash[role=status]")
        notice.wait_for()
        assert notice.inner_text() == "Cleared: Plex Media Server is no longer configured."
        wait_js(dashboard, f"{PLEX_ROW} === 'unconfigured'", timeout=20)
        row = dashboard.locator("#card-services [data-service=plex]")
        assert "Set up Plex Media Server" in row.inner_text()
        assert row.locator(".service-error").count() == 0
        assert dashboard.evaluate(NO_SIDEWAYS_SCROLL)

        # Then the right settings: the dashboard turns online at once.
        page.fill("#service-plex input[name=url]", plex.url)
        page.fill("#service-plex input[name=token]", plex.token)
        page.click("#service-plex form.form button[type=submit]:not([formaction])")
        page.locator("#service-plex .flash[role=status]").wait_for()
        wait_js(dashboard, f"{PLEX_ROW} === 'online'", timeout=20)
        assert dashboard.evaluate("window.__noReload") is True

        # And Plex sign-in works again for the server's owner.
        fresh = context.browser.new_context(viewport=VIEWPORTS[viewport])
        try:
            again = fresh.new_page()
            again.set_default_timeout(15_000)
            again.goto(server.url + "/auth/login")
            again.click("#plex-signin button[type=submit]")
            plex_tv.claim_pin(again.locator("#plex-code").inner_text().strip(), owner)
            again.wait_for_url(server.url + "/")
            assert again.locator(".topbar .who").inner_text() == "Owner"
        finally:
            fresh.close()
    finally:
        context.close()
        plex.stop()
        plex_tv.stop()
