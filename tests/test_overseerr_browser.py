"""The Overseerr pages in a real headless Chromium: search as you type, request a series,
watch its status change live when Overseerr's webhook arrives."""

from __future__ import annotations

import pytest
import requests

from tests.conftest import browser_sign_in
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


def test_search_request_and_live_status_without_reload(live_server_factory, page, standin):
    server = live_server_factory(
        env={
            "MEDIANEST_OVERSEERR_URL": standin.url,
            "MEDIANEST_OVERSEERR_API_KEY": "testkey",
            "MEDIANEST_OVERSEERR_WEBHOOK_SECRET": SECRET,
            # The local admin has no Plex id: its requests go through Overseerr's admin account.
            "MEDIANEST_OVERSEERR_FALLBACK_TO_ADMIN": "admin",
        }
    )
    browser_sign_in(page, server)
    page.goto(server.url + "/media/")
    page.fill("#media-query", "game of")  # results as you type, no submit
    result = page.locator("#media-tv-1399")
    result.wait_for()
    assert "Game of Thrones" in result.inner_text()
    search_calls = [r for r in standin.requests if r.path == "/api/v1/search"]
    assert search_calls and "query=game%20of" in search_calls[-1].query_string

    result.get_by_role("link", name="Choose seasons (approved automatically)").click()
    result.locator("input[name=season][value='1']").check()
    result.locator("input[name=season][value='2']").check()
    result.get_by_role("button", name="Request chosen seasons").click()
    answer = result.locator(".request-answer")
    answer.wait_for()
    assert "Requested Game of Thrones" in answer.inner_text()
    (made,) = standin.media_requests.values()
    assert [s.season_number for s in made.seasons] == [1, 2]

    answer.get_by_role("link", name="My requests").click()
    page.wait_for_url(server.url + "/media/requests")
    row = page.locator("#my-requests tbody tr")
    assert row.count() == 1
    assert "Seasons 1, 2" in row.inner_text() and row.get_attribute("data-status") == "approved"
    page.wait_for_function("() => document.body.dataset.live === '1'")
    page.evaluate("window.__noReload = true")

    standin.set_media_status(1399, "tv", "AVAILABLE", seasons={1: "AVAILABLE", 2: "AVAILABLE"})
    payload = standin.webhook_payload("MEDIA_AVAILABLE", made.id)
    response = requests.post(
        server.url + "/api/v1/media/webhook",
        json=payload,
        headers=standin.webhook_headers(f"Bearer {SECRET}"),
        timeout=10,
    )
    assert response.status_code == 200 and response.json()["data"]["result"] == "updated"

    page.locator("#my-requests tbody tr[data-status=available]").wait_for()
    assert "Available" in page.locator("#my-requests tbody tr").inner_text()
    toast = page.locator("#toasts .toast")
    toast.wait_for()
    assert "Game of Thrones is now available." in toast.inner_text()
    assert page.evaluate("window.__noReload") is True  # changed in place, no reload
