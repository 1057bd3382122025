"""The core's pages in a real headless Chromium: live cards, toasts, phone layout, no-JS."""

from __future__ import annotations

import pytest

from tests.conftest import browser_sign_in, wait_js
from tests.support.sockets import RecordingClient

pytestmark = [pytest.mark.browser, pytest.mark.plugins("cardtest")]


@pytest.mark.slow
def test_periodic_task_on_real_worker_refreshes_the_card_without_reload(live_server_factory, installed_plugins, page):
    """Beat schedules the plugin's task, the worker runs it and emits through Redis,
    Socket.IO reaches Chromium, the bridge triggers htmx and the card swaps itself."""
    server = live_server_factory(plugins=installed_plugins, redis=True)
    worker = live_server_factory.process(["worker", "--pool", "threads", "-c", "2"], server, "worker")
    worker.wait_for_log("ready", timeout=60)
    browser_sign_in(page, server)
    assert page.locator("#card-cardtest h2").inner_text() == "Card test"
    wait_js(page, "document.body.dataset.live === '1'")
    page.evaluate("window.__noReload = true")
    first = int(page.locator(".cardtest-count").get_attribute("data-count"))
    live_server_factory.process(["beat"], server, "beat")
    wait_js(page, f"Number(document.querySelector('.cardtest-count').dataset.count) >= {first + 2}", timeout=45)
    assert page.evaluate("window.__noReload") is True
    assert "cardtest.tick" in worker.log() or "Task cardtest.tick" in worker.log()


def test_notification_toast_reaches_only_its_user(live_server_factory, installed_plugins, page):
    server = live_server_factory(plugins=installed_plugins)
    browser_sign_in(page, server)
    wait_js(page, "document.body.dataset.live === '1'")
    http = server.session()
    # A second, anonymous-to-this-user listener must not get the admin's notification: create a user.
    other = RecordingClient(server.url, http).connect()  # the admin themself, in a second tab
    try:
        token = page.evaluate("document.body.getAttribute('hx-headers')")
        assert "X-CSRFToken" in token
        page.evaluate(
            """async () => {
                const headers = JSON.parse(document.body.getAttribute('hx-headers'));
                await fetch('/api/v1/cardtest/notify', {method: 'POST', headers});
            }"""
        )
        toast = page.locator("#toasts .toast")
        toast.wait_for()
        assert "the card test says hi" in toast.inner_text()
        assert toast.locator("a").get_attribute("href") == "/cardtest/"
        assert other.wait_for("notification")["message"].startswith("Hello Administrator")
    finally:
        other.close()


def test_phone_layout_collapses_navigation(live_server_factory, installed_plugins, browser):
    server = live_server_factory(plugins=installed_plugins)
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        browser_sign_in(page, server)
        assert not page.locator("nav.nav").is_visible()
        page.locator(".nav-toggle-label").click()
        assert page.locator("nav.nav a[href='/cardtest/']").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        assert page.locator("#card-cardtest").is_visible()
    finally:
        context.close()


def test_pages_work_without_javascript(live_server_factory, installed_plugins, browser):
    server = live_server_factory(plugins=installed_plugins)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        browser_sign_in(page, server)
        # The embedded beat ticks every second, so the value is whatever the server had.
        assert page.locator(".cardtest-count").inner_text().isdigit()
        assert page.locator("script").count() >= 1  # the page still ships its scripts; they just don't run
        assert page.locator("#card-cardtest h2").inner_text() == "Card test"
    finally:
        context.close()


def test_no_console_errors_or_csp_violations(live_server_factory, installed_plugins, page):
    server = live_server_factory(plugins=installed_plugins)
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    browser_sign_in(page, server)
    wait_js(page, "document.body.dataset.live === '1'")
    page.goto(server.url + "/admin/plugins")
    page.goto(server.url + "/api/docs")
    assert problems == []


def test_a_refused_htmx_request_shows_the_servers_message(live_server_factory, installed_plugins, page):
    """429 from the shared API budget: the page says so instead of failing silently."""
    server = live_server_factory(plugins=installed_plugins, env={"MEDIANEST_RATE_LIMIT_API": "3/minute"})
    browser_sign_in(page, server)
    wait_js(page, "document.body.dataset.live === '1'")
    toast = page.locator("#toasts .toast-error")
    # Each click's answer is awaited; up to eight, since a minute that turns over
    # between two clicks starts the count again (the fourth in one minute is refused).
    for _ in range(8):
        with page.expect_response(lambda answer: answer.url.endswith("/api/v1/cardtest/bump")) as answered:
            page.locator("#card-cardtest .cardtest-bump").click()
        if answered.value.status == 429:
            break
    toast.first.wait_for()
    assert "Too many requests" in toast.first.inner_text()
