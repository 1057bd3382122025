"""In headless Chromium: the dashboard shows every service, and a service that stops
and starts again turns its cards offline and back without a reload."""

from __future__ import annotations

import time

import pytest

from tests.conftest import browser_sign_in, wait_js
from tests.standins.uptime_kuma import UptimeKumaStandin

pytestmark = [pytest.mark.browser, pytest.mark.slow]

KUMA_STATUS = "document.querySelector('#card-uptime-kuma [data-kuma-status]')?.dataset.kumaStatus"
SERVICE_ROW = "document.querySelector('#card-services [data-service=\"uptime_kuma\"]')?.dataset.status"


def test_stopping_a_service_turns_its_cards_offline_and_back_without_reload(live_server_factory, page):
    kuma = UptimeKumaStandin(slug="household", hang_seconds=10)
    kuma.start()
    try:
        server = live_server_factory(
            env={
                "MEDIANEST_HEALTH_CHECK_INTERVAL": "1",
                "MEDIANEST_UPTIME_KUMA_URL": kuma.url,
                "MEDIANEST_UPTIME_KUMA_SLUG": "household",
                "MEDIANEST_SERVICE_READ_TIMEOUT": "1",
                "MEDIANEST_BREAKER_FAIL_MAX": "2",
                "MEDIANEST_BREAKER_RESET_SECONDS": "2",
            }
        )
        # The first check may finish before the browser's socket is up; wait for it, then open the page.
        http = server.session()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if http.get(server.url + "/api/v1/uptime/monitors", timeout=5).json()["data"]["status"] == "online":
                break
            time.sleep(0.3)
        browser_sign_in(page, server)
        wait_js(page, "document.body.dataset.live === '1'")
        assert page.evaluate(KUMA_STATUS) == "online"
        assert page.locator("#card-services h2").inner_text() == "Services"
        assert page.locator("#card-uptime-kuma [data-monitor='1']").get_attribute("data-status") == "up"
        assert page.locator("#card-uptime-kuma [data-monitor='2']").get_attribute("data-status") == "down"
        page.evaluate("window.__noReload = true")

        kuma.stop()
        wait_js(page, f"{KUMA_STATUS} === 'offline' && {SERVICE_ROW} === 'offline'", timeout=20)
        card = page.locator("#card-uptime-kuma")
        # The card names the failure; which words depends on where the stop caught
        # the running check (refused, unreachable, answer broken off), and the
        # card keeps the first reason while the service stays offline.
        text = card.inner_text()
        assert any(reason in text for reason in ("refused", "could not be reached", "broke off its answer")), text
        assert card.locator("[data-role=stale]").count() == 1  # the monitors stay, marked stale
        assert card.locator("[data-monitor='1']").count() == 1

        kuma.start()
        wait_js(page, f"{KUMA_STATUS} === 'online' && {SERVICE_ROW} === 'online'", timeout=20)
        assert page.locator("#card-uptime-kuma [data-role=stale]").count() == 0
        assert page.evaluate("window.__noReload") is True
    finally:
        kuma.stop()
