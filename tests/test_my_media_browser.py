""" "My media" in a real headless Chromium: a playlist downloaded for real (yt-dlp against the
local media feed) becomes a Plex collection, and the open page shows it ready, "In Plex", with
a link to that collection in the Plex web app, without a reload; on a phone too."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from tests.conftest import browser_sign_in, wait_js
from tests.standins.plex import validate_plex_requests
from tests.support.apps import add_local_users
from tests.test_plex_live import TOKEN, DiskPlexServer, plex_env
from tests.test_youtube_live import PASSWORD, youtube_env
from tests.test_youtube_support import feed_fixture  # noqa: F401  (the local playlist server)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MACHINE = "5eed" * 10


def test_a_finished_download_shows_in_my_media_with_its_plex_collection_link(live_server_factory, feed, tmp_path, page):
    root = tmp_path / "downloads"
    pms = DiskPlexServer(token=TOKEN, machine_identifier=MACHINE, scan_delay_polls=1)
    pms.add_library("YouTube", "movie", locations=[str(root)])
    pms.start()
    feed.add_playlist("cooking", "Cooking Basics", [("Knives", 60_000)])
    try:
        server = live_server_factory(env=youtube_env(root) | plex_env(pms))
        add_local_users(server, tmp_path, PASSWORD, "alice")
        browser_sign_in(page, server, "alice", PASSWORD)

        page.goto(server.url + "/youtube/")
        page.fill("#yt-new input[name=url]", feed.url_for_playlist("cooking"))
        page.click("#yt-new button[type=submit]")
        page.wait_for_url(re.compile(r".*/youtube/\d+$"))
        download_id = page.url.rsplit("/", 1)[1]

        # The page is open while the download runs and Plex scans; it follows both live.
        page.goto(server.url + "/me/media")
        wait_js(page, "document.body.dataset.live === '1'")
        page.evaluate("window.__noReload = true")
        line = page.locator(f".media-item[data-source='YouTube'][data-id='download-{download_id}']")
        assert line.is_visible()
        plex_link = line.locator("a.media-plex")
        plex_link.wait_for(timeout=90_000)
        assert page.evaluate("window.__noReload") is True  # swapped in place, not reloaded

        (collection,) = pms.collections.values()
        assert collection.title == "Alice — Cooking Basics"
        key = quote(f"/library/collections/{collection.rating_key}", safe="")
        assert plex_link.get_attribute("href") == f"https://app.plex.tv/desktop#!/server/{MACHINE}/details?key={key}"
        assert "Open in Plex" in plex_link.inner_text()
        assert line.get_attribute("data-state") == "ready" and "Cooking Basics" in line.inner_text()
        assert line.locator(".media-status").inner_text().strip() == "In Plex"

        # The "Ready" filter keeps it; "In progress" and "Failed" do not.
        page.click("#my-media nav a[data-state='ready']")
        page.wait_for_url(server.url + "/me/media?state=ready")
        assert page.locator(f".media-item[data-id='download-{download_id}'] a.media-plex").is_visible()
        page.goto(server.url + "/me/media?state=in_progress")
        assert page.locator(".media-item").count() == 0

        # On a phone the line and its link stay within the screen.
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(server.url + "/me/media?state=ready")
        box = page.locator(f".media-item[data-id='download-{download_id}'] a.media-plex").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert validate_plex_requests(pms) == []
    finally:
        pms.stop()
