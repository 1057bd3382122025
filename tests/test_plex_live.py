"""The plex plugin in a running MediaNest: a real YouTube download (yt-dlp against the
local media feed) lands in a Plex collection through the embedded worker, with
the Plex server down at first; and Chromium browses a library, opens a
collection and searches.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

import pytest

from tests.conftest import browser_sign_in
from tests.standins.plex import PlexServerStandin, RegisteredFile, validate_plex_requests
from tests.support.waiting import wait_for
from tests.test_youtube_support import feed_fixture  # noqa: F401  (the local playlist server)

TOKEN = "plex-live-token-0b6e2d"
MACHINE = "feed" * 10

pytestmark = pytest.mark.slow


class DiskPlexServer(PlexServerStandin):
    """The stand-in, with scans that find the media files really on disk (as Plex's scanner does)."""

    def _finish_scan(self, scan) -> None:
        if scan.folder and os.path.isdir(scan.folder):
            known = {f.path for f in self.files}
            for folder, _dirs, names in os.walk(scan.folder):
                for name in sorted(names):
                    path = posixpath.normpath(os.path.join(folder, name))
                    if name.endswith(".mp4") and path not in known:
                        self.files.append(RegisteredFile(scan.section_id, path, os.path.splitext(name)[0]))
        super()._finish_scan(scan)


def plex_env(pms: PlexServerStandin) -> dict[str, str]:
    return {"MEDIANEST_PLEX_URL": pms.url, "MEDIANEST_PLEX_TOKEN": TOKEN}


@pytest.mark.browser
def _data(answer):
    assert "data" in answer.json(), (answer.status_code, answer.text)
    return answer.json()["data"]


def test_youtube_download_lands_in_a_plex_collection_with_plex_down_at_first(live_server_factory, feed, tmp_path):
    root = tmp_path / "downloads"
    pms = DiskPlexServer(token=TOKEN, machine_identifier=MACHINE, scan_delay_polls=2)
    pms.add_library("YouTube", "movie", locations=[str(root)])
    pms.start()
    pms.stop()  # down when the download completes; same port when it comes back
    feed.add_playlist("cooking", "Cooking Basics", [("Knives", 120_000), ("Onions", 120_000)])
    server = live_server_factory(
        env={
            **plex_env(pms),
            "MEDIANEST_YOUTUBE_ALLOWED_HOSTS": "127.0.0.1",
            "MEDIANEST_YOUTUBE_ALLOWED_PRIVATE": "127.0.0.1",  # the local stand-ins are on loopback
            "MEDIANEST_YOUTUBE_DOWNLOAD_ROOT": str(root),
            "MEDIANEST_YOUTUBE_SOCKET_TIMEOUT": "5",
            "MEDIANEST_YOUTUBE_MIN_FREE_GB": "0",
        }
    )
    try:
        http = server.session()
        created = http.post(
            server.url + "/api/v1/youtube/downloads", json={"url": feed.url_for_playlist("cooking")}, timeout=10
        )
        assert created.status_code in (200, 201, 202), created.text
        download_id = created.json()["data"]["id"]
        state = f"{server.url}/api/v1/plex/downloads/{download_id}/collection"
        # The download completes while Plex is down: the collection task waits and retries.
        waiting = wait_for(
            lambda: (
                (r := http.get(state, timeout=10)).status_code == 200
                and r.json()["data"]["attempts"] >= 1
                and r.json()["data"]
            ),
            timeout=90,
            interval=1,  # within the API budget (100 a minute) however long it takes
            what="a first failed attempt",
        )
        assert waiting["status"] in ("queued", "scanning") and "plex" in (waiting["error"] or "").lower()
        pms.start()
        done = wait_for(
            lambda: (d := _data(http.get(state, timeout=10)))["status"] in ("done", "failed") and d,
            timeout=90,
            interval=1,
            what="the collection",
        )
        assert done["status"] == "done", (done, server.log()[-3000:])
        # Named from the default template: "<user> — <playlist title>" (the local admin is "Administrator").
        collection = pms.collection_by_title("Administrator — Cooking Basics")
        assert collection is not None, [c.title for c in pms.collections.values()]
        assert sorted(pms.items[k].title for k in collection.item_keys) == [
            "01 - Knives [cooking-1]",
            "02 - Onions [cooking-2]",
        ]
        assert done["url"] == f"/plex/collections/{collection.rating_key}" and done["items"] == 2
        page = http.get(server.url + done["url"], timeout=10).text
        assert "Knives" in page and "Onions" in page and TOKEN not in page
        [scanned] = [Path(s[1]) for s in pms.scan_requests]  # the playlist's folder in the person's own
        assert scanned.name == "Cooking Basics" and scanned.parent.parent == root
        assert validate_plex_requests(pms) == []
    finally:
        pms.stop()


def seeded_pms() -> PlexServerStandin:
    pms = PlexServerStandin(token=TOKEN, machine_identifier=MACHINE)
    movies = pms.add_library("Movies", "movie", locations=["/media/movies"])
    keys = {
        t: pms.add_item(movies, t, y, summary=f"About {t}.")
        for t, y in [("Alien", 1979), ("Heat", 1995), ("Arrival", 2016), ("Blade Runner", 1982), ("Zodiac", 2007)]
    }
    for n in range(55):
        pms.add_item(movies, f"Short film {n:02d}", 2001)
    pms.add_collection(movies, "Night Classics", [keys["Alien"], keys["Heat"]])
    return pms


@pytest.mark.browser
def test_chromium_browses_a_library_opens_a_collection_and_searches(live_server_factory, page):
    pms = seeded_pms()
    pms.start()
    try:
        server = live_server_factory(env=plex_env(pms))
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        browser_sign_in(page, server)
        page.click("nav >> text=Plex")
        page.wait_for_url(server.url + "/plex/")
        page.click("text=Movies >> nth=0")
        page.wait_for_selector(".plex-item")
        assert page.locator(".plex-item").count() == 50
        # The first posters come through MediaNest's poster route, really decoded as images.
        page.wait_for_function(
            "() => { const i = document.querySelector('.plex-item img');"
            " return i && i.complete && i.naturalWidth > 0; }"
        )
        assert page.locator(".plex-item img").first.get_attribute("src").startswith("/plex/poster?")
        # Scrolling to the end loads the next page in place.
        page.locator(".plex-more").scroll_into_view_if_needed()
        page.wait_for_function("() => document.querySelectorAll('.plex-item').length === 60")
        assert page.url.startswith(server.url + "/plex/libraries/")
        page.click("text=Year")
        page.wait_for_selector(".plex-item")
        assert page.locator(".plex-title").first.inner_text() == "Arrival"

        page.click("text=Collections")
        page.click("text=Night Classics")
        page.wait_for_selector("h1:has-text('Night Classics')")
        assert sorted(page.locator(".plex-title").all_inner_texts()) == ["Alien", "Heat"]
        page.click(".plex-item >> text=Heat")
        page.wait_for_selector("h1:has-text('Heat')")
        assert "About Heat." in page.content()

        page.goto(server.url + "/plex/search")
        page.fill("input[name=query]", "blade")
        page.wait_for_selector(".plex-title:has-text('Blade Runner')")
        assert "query=blade" in page.url  # the search is in the address bar, shareable
        page.fill("input[name=query]", "nothing-like-this")
        page.wait_for_selector("#no-results")
        assert TOKEN not in page.content()
        assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
        assert validate_plex_requests(pms) == []
    finally:
        pms.stop()
