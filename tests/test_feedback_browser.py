"""In Chromium: slow admin actions say they are working, and a save raises a toast naming the product."""

from __future__ import annotations

import pytest

from tests.conftest import browser_sign_in, wait_js
from tests.standins.uptime_kuma import UptimeKumaStandin

pytestmark = pytest.mark.browser

FORM = "#service-uptime_kuma form"


def test_test_connection_is_busy_while_the_service_hangs_and_a_save_raises_a_toast(live_server_factory, page):
    kuma = UptimeKumaStandin(slug="household", hang_seconds=20)
    kuma.start()
    kuma.set_hang()
    try:
        server = live_server_factory()
        browser_sign_in(page, server)
        page.goto(server.url + "/admin/services")
        page.fill(f"{FORM} input[name=url]", kuma.url)
        page.fill(f"{FORM} input[name=slug]", "household")
        page.fill(f"{FORM} input[name=read_timeout]", "2")

        page.click(f"{FORM} button:has-text('Test connection')")
        # While the service hangs: the indicator shows and both buttons are disabled.
        page.wait_for_selector("#testing-uptime_kuma", state="visible", timeout=1000)
        assert page.is_disabled(f"{FORM} button:has-text('Test connection')")
        assert page.is_disabled(f"{FORM} button:has-text('Save')")
        page.wait_for_selector("#test-uptime_kuma.error", timeout=15_000)
        result = page.inner_text("#test-uptime_kuma")
        assert "did not answer in 2 s" in result and "uptime_kuma" not in result, result
        assert not page.is_visible("#testing-uptime_kuma")
        assert page.is_enabled(f"{FORM} button:has-text('Test connection')")

        kuma.set_hang(False)
        page.click(f"{FORM} button:has-text('Save')")
        wait_js(page, "document.querySelector('#toasts .toast-success')")
        toast = page.inner_text("#toasts .toast-success")
        assert toast.startswith("Uptime Kuma: saved URL, Status-page slug"), toast
        assert "Read timeout (s)" in toast and "read_timeout" not in toast
    finally:
        kuma.stop()
