"""In Chromium: slow admin actions say they are working, and a save raises a toast naming the product."""

from __future__ import annotations

import socket
import time

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


def test_sign_in_with_plex_says_it_is_working_and_then_why_it_failed(live_server_factory, page):
    """plex.tv unreachable in a way that hangs (no internet behind a firewall that drops packets)."""
    silent = socket.socket()  # listens, never accepts: the connection is made, no answer ever comes
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        server = live_server_factory(env={"MEDIANEST_PLEX_TV_URL": f"http://127.0.0.1:{silent.getsockname()[1]}"})
        page.goto(server.url + "/auth/login")
        started = time.monotonic()
        page.click("#plex-signin button[type=submit]")
        page.wait_for_selector("#plex-busy", state="visible", timeout=1000)
        assert page.is_disabled("#plex-signin button[type=submit]")
        page.wait_for_selector("#plex-signin[data-state=error]", timeout=30_000)
        message = page.inner_text("#plex-signin [role=alert]")
        assert "plex.tv did not answer in" in message and "plex_tv" not in message, message
        assert time.monotonic() - started > 5  # the busy state was what the person saw meanwhile
        assert page.is_enabled("#plex-signin button[type=submit]")  # "Start again"
    finally:
        silent.close()
