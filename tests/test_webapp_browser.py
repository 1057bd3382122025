"""Installable on a phone, in a real headless Chromium: the manifest passes Chromium's own
installability check, the service worker registers and serves the offline page, and the
look follows the system's light or dark setting."""

from __future__ import annotations

import pytest

from tests.conftest import CHROMIUM, browser_sign_in, wait_js

pytestmark = [pytest.mark.browser]


@pytest.fixture
def profile_page(browser, tmp_path):
    """A page in a browser profile of its own: Chromium never offers to install from an incognito
    context, which is what every other test page is."""
    context = browser.browser_type.launch_persistent_context(
        tmp_path / "profile", executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
    )
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


def test_manifest_and_service_worker_make_it_installable(live_server_factory, profile_page):
    page = profile_page
    server = live_server_factory()
    browser_sign_in(page, server)
    page.goto(server.url + "/dashboard/")
    registered = page.evaluate(
        """async () => {
            const registration = await navigator.serviceWorker.ready;
            return {script: registration.active.scriptURL, scope: registration.scope};
        }"""
    )
    assert registered == {"script": server.url + "/sw.js", "scope": server.url + "/"}

    cdp = page.context.new_cdp_session(page)
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["url"] == server.url + "/manifest.webmanifest"
    assert manifest.get("errors") == []
    installability = cdp.send("Page.getInstallabilityErrors")
    assert installability["installabilityErrors"] == []

    body = page.evaluate("fetch('/manifest.webmanifest').then(r => r.json())")
    assert body["name"] == "MediaNest" and body["start_url"] == "/" and body["display"] == "standalone"
    sizes = {icon["sizes"] for icon in body["icons"] if icon.get("purpose") != "maskable"}
    assert sizes == {"192x192", "512x512"}
    for icon in body["icons"]:
        loaded = page.evaluate(
            """src => new Promise(done => { const img = new Image(); img.onload = () => done(img.naturalWidth);
                img.onerror = () => done(0); img.src = src; })""",
            icon["src"],
        )
        assert loaded == int(icon["sizes"].split("x")[0]), icon


def test_the_worker_serves_the_offline_page_when_the_network_is_gone(live_server_factory, page):
    server = live_server_factory()
    browser_sign_in(page, server)
    page.evaluate("navigator.serviceWorker.ready")
    page.reload()  # now the page is under the worker's control
    wait_js(page, "navigator.serviceWorker.controller !== null")
    page.context.set_offline(True)
    try:
        page.goto(server.url + "/me/media")
        assert page.locator("#offline h1").inner_text() == "You are offline"
    finally:
        page.context.set_offline(False)
    page.goto(server.url + "/me/media")
    assert page.locator("h1").inner_text() == "My media"


def test_light_and_dark_follow_the_system_setting(live_server_factory, page):
    server = live_server_factory()
    browser_sign_in(page, server)
    background = "getComputedStyle(document.body).backgroundColor"
    page.emulate_media(color_scheme="dark")
    assert page.evaluate(background) == "rgb(15, 17, 21)"
    page.emulate_media(color_scheme="light")
    assert page.evaluate(background) == "rgb(245, 246, 248)"
    assert page.evaluate("getComputedStyle(document.querySelector('.topbar')).backgroundColor") == "rgb(255, 255, 255)"
