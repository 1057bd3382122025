"""The download pages in Chromium: a 429 keeps the form, delete asks first, live states never stick, names shown."""

from __future__ import annotations

import re
import time

import pytest

from tests.conftest import browser_sign_in, wait_js
from tests.support.apps import add_local_users
from tests.support.waiting import wait_for
from tests.test_youtube_live import API, PASSWORD, download_state, youtube_env
from tests.test_youtube_support import feed_fixture  # noqa: F401

pytestmark = pytest.mark.browser


def test_limit_keeps_the_form_delete_asks_first_and_admins_see_names(live_server_factory, feed, tmp_path, page):
    feed.bytes_per_second = 100_000
    feed.add_playlist("slow", "Slow Mix", [("Long", 3_000_000)])
    env = youtube_env(tmp_path / "downloads") | {"MEDIANEST_RATE_LIMIT_YOUTUBE": "1/hour"}
    server = live_server_factory(env=env)
    add_local_users(server, tmp_path, PASSWORD, "alice")
    browser_sign_in(page, server, "alice", PASSWORD)

    page.goto(server.url + "/youtube/")
    page.fill("#yt-new input[name=url]", feed.url_for_playlist("slow"))
    page.click("#yt-new button[type=submit]")
    page.wait_for_url(re.compile(r".*/youtube/\d+$"))
    download_id = int(page.url.rsplit("/", 1)[1])

    # Over the limit: the form stays, with the typed URL and the chosen format, and names the real wait.
    page.goto(server.url + "/youtube/")
    typed = "http://127.0.0.1:9/feeds/kept.xml"
    page.fill("#yt-new input[name=url]", typed)
    page.select_option("#yt-new select[name=format]", "720p")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/youtube/")) as answer:
        page.click("#yt-new button[type=submit]")
    assert answer.value.status == 429
    wait = int(answer.value.headers["retry-after"])
    assert 3000 < wait <= 3601
    page.wait_for_selector("#yt-error")
    assert f"Try again in {wait} s" in page.inner_text("#yt-error")
    assert page.url == server.url + "/youtube/"  # the page was not replaced by an error page
    assert page.input_value("#yt-new input[name=url]") == typed
    assert page.input_value("#yt-new select[name=format]") == "720p"
    assert page.locator("#youtube-list").count() == 1  # ... and the list is still there
    assert page.locator("#toasts .toast-error").count() == 0

    # Delete asks first: the first click only opens the question.
    page.goto(f"{server.url}/youtube/{download_id}")
    page.click(f"#yt-delete-{download_id} summary")
    page.wait_for_selector("#yt-delete-confirm", state="visible")
    time.sleep(1.5)  # live refreshes meanwhile keep the question open
    assert page.is_visible("#yt-delete-confirm")
    http = server.session("alice", PASSWORD)
    assert http.get(f"{server.url}{API}/{download_id}", timeout=10).status_code == 200  # not deleted yet

    # An admin sees the owner's name, not a number.
    admin = page.context.browser.new_context()
    try:
        admin_page = admin.new_page()
        browser_sign_in(admin_page, server)
        admin_page.goto(server.url + "/youtube/")
        row = admin_page.locator(f"tr[data-download='{download_id}']")
        assert row.locator("td").nth(1).inner_text().strip() == "Alice"
    finally:
        admin.close()

    page.click("#yt-delete-confirm")
    page.wait_for_url(server.url + "/youtube/")
    assert "Deleted Slow Mix" in page.inner_text("main")
    assert http.get(f"{server.url}{API}/{download_id}", timeout=10).status_code == 404


def test_cancel_and_complete_are_never_stuck_even_when_events_are_missed(live_server_factory, feed, tmp_path, page):
    feed.bytes_per_second = 200_000
    feed.add_playlist("stop", "Stop Me", [("Long", 4_000_000)])
    feed.add_playlist("done", "Done Soon", [("Short", 600_000)])
    server = live_server_factory(env=youtube_env(tmp_path / "downloads"))
    browser_sign_in(page, server)
    http = server.session()

    # Cancel: the button shows it is busy, and the card reaches "cancelled" by itself.
    page.goto(server.url + "/youtube/")
    page.fill("#yt-new input[name=url]", feed.url_for_playlist("stop"))
    page.click("#yt-new button[type=submit]")
    page.wait_for_url(re.compile(r".*/youtube/\d+$"))
    stop_id = int(page.url.rsplit("/", 1)[1])
    wait_js(page, "document.body.dataset.live === '1'")
    wait_for(lambda: download_state(http, server, stop_id)["percent"] > 0, what="the download under way")
    page.click("#yt-cancel")
    wait_js(page, "document.querySelector('#yt-status').textContent.trim() === 'cancelled'", timeout=20)
    assert "Stopping" not in page.inner_text(f"#download-{stop_id}")
    assert page.is_visible("#yt-retry")

    # Complete, with the live connection down the whole time: the card still reaches "completed".
    page.goto(server.url + "/youtube/")
    page.fill("#yt-new input[name=url]", feed.url_for_playlist("done"))
    page.click("#yt-new button[type=submit]")
    page.wait_for_url(re.compile(r".*/youtube/\d+$"))
    done_id = int(page.url.rsplit("/", 1)[1])
    wait_js(page, "document.body.dataset.live === '1'")
    page.evaluate("() => window.medianestSocket.disconnect()")
    wait_for(lambda: download_state(http, server, done_id)["status"] == "completed", timeout=60, what="completed")
    wait_js(page, "document.querySelector('#yt-status').textContent.trim() === 'completed'", timeout=15)
    assert page.locator("#yt-files li").count() == 1


def test_on_a_phone_the_429_message_shows_beside_the_kept_url(live_server_factory, feed, tmp_path, browser):
    env = youtube_env(tmp_path / "downloads") | {"MEDIANEST_RATE_LIMIT_YOUTUBE": "1/hour"}
    server = live_server_factory(env=env)
    add_local_users(server, tmp_path, PASSWORD, "alice")
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        browser_sign_in(page, server, "alice", PASSWORD)
        page.goto(server.url + "/youtube/")
        feed.add_playlist("phone", "Phone", [("Clip", 20_000)])
        page.fill("#yt-new input[name=url]", feed.url_for_playlist("phone"))
        page.click("#yt-new button[type=submit]")
        page.wait_for_url(re.compile(r".*/youtube/\d+$"))
        page.goto(server.url + "/youtube/")
        typed = "http://127.0.0.1:9/feeds/second.xml"
        page.fill("#yt-new input[name=url]", typed)
        page.click("#yt-new button[type=submit]")
        page.wait_for_selector("#yt-error")
        assert "Try again in" in page.inner_text("#yt-error")
        assert page.input_value("#yt-new input[name=url]") == typed
        box = page.locator("#yt-error").bounding_box()
        assert (
            box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        )  # readable without scrolling sideways
    finally:
        context.close()
