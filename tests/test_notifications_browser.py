"""The inbox in a real headless Chromium: a request becoming available raises the bell's count
live, without a reload, and shows in the inbox and in "My media"; the bell stays in sight on a phone."""

from __future__ import annotations

import pytest
import requests

from tests.conftest import browser_sign_in, wait_js
from tests.standins.overseerr import OverseerrStandin

pytestmark = [pytest.mark.browser]

SECRET = "browser-webhook-secret"


@pytest.fixture
def standin():
    server = OverseerrStandin()
    server.start()
    yield server
    server.stop()
    assert server.validate_requests() == []


def overseerr_env(standin: OverseerrStandin) -> dict[str, str]:
    return {
        "MEDIANEST_OVERSEERR_URL": standin.url,
        "MEDIANEST_OVERSEERR_API_KEY": "testkey",
        "MEDIANEST_OVERSEERR_WEBHOOK_SECRET": SECRET,
        "MEDIANEST_OVERSEERR_FALLBACK_TO_ADMIN": "admin",
    }


def request_and_make_available(page, server, standin: OverseerrStandin) -> int:
    """Request The Matrix through the API with the page's session; Overseerr then says it is available."""
    csrf = page.evaluate("document.querySelector('input[name=csrf_token]').value")
    made = page.request.post(
        server.url + "/api/v1/media/requests",
        data={"media_type": "movie", "tmdb_id": 603},
        headers={"X-CSRFToken": csrf},
    )
    assert made.status == 201, made.text()
    request_id = made.json()["data"]["id"]
    (upstream,) = standin.media_requests.values()
    standin.set_media_status(603, "movie", "AVAILABLE")
    answer = requests.post(
        server.url + "/api/v1/media/webhook",
        json=standin.webhook_payload("MEDIA_AVAILABLE", upstream.id),
        headers=standin.webhook_headers(f"Bearer {SECRET}"),
        timeout=10,
    )
    assert answer.status_code == 200 and answer.json()["data"]["result"] == "updated"
    return request_id


def test_a_request_becoming_available_raises_the_bell_live_and_shows_in_inbox_and_my_media(
    live_server_factory, page, standin
):
    server = live_server_factory(env=overseerr_env(standin))
    browser_sign_in(page, server)
    page.goto(server.url + "/dashboard/")
    bell = page.locator("#bell")
    assert bell.locator(".bell-count").get_attribute("data-count") == "0"
    assert not bell.locator(".bell-count").is_visible()
    wait_js(page, "document.body.dataset.live === '1'")
    page.evaluate("window.__noReload = true")

    request_and_make_available(page, server, standin)

    wait_js(page, "Number(document.querySelector('#bell .bell-count').dataset.count) >= 1")
    assert page.evaluate("window.__noReload") is True  # counted in place
    assert page.locator("#bell .bell-count").is_visible()
    assert "The Matrix is now available." in page.locator("#toasts").inner_text()

    page.locator("#bell").click()
    page.wait_for_url(server.url + "/me/notifications")
    item = page.locator(".inbox-item[data-kind='request.available']")
    assert "The Matrix is now available." in item.inner_text()
    assert "unread" in (item.get_attribute("class") or "")
    count_before = int(page.locator("#bell .bell-count").get_attribute("data-count"))
    item.get_by_role("button", name="Mark read").click()
    wait_js(page, f"Number(document.querySelector('#bell .bell-count').dataset.count) === {count_before - 1}")
    assert "unread" not in (page.locator(".inbox-item[data-kind='request.available']").get_attribute("class") or "")

    page.goto(server.url + "/me/media?state=ready")
    ready = page.locator(".media-item[data-source='Overseerr']")
    assert "The Matrix" in ready.inner_text() and ready.get_attribute("data-state") == "ready"


def test_the_bell_stays_in_sight_on_a_phone(live_server_factory, browser):
    server = live_server_factory()
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        browser_sign_in(page, server)
        assert not page.locator("nav.nav").is_visible()  # the menu is folded
        assert page.locator("#bell").is_visible()
        box = page.locator("#bell").bounding_box()
        assert box and box["x"] + box["width"] <= 390
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.locator("#bell").click()
        page.wait_for_url(server.url + "/me/notifications")
        assert "No notifications yet" in page.locator("#inbox").inner_text()
    finally:
        context.close()
