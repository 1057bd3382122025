"""The Plex home in Chromium: "Now playing" follows the server's streams without a reload,
and the home cards read well at desktop width and on a 390-px phone."""

from __future__ import annotations

import pytest

from tests.conftest import browser_sign_in, wait_js
from tests.standins.plex import PlexServerStandin, PlexSession

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TOKEN = "plex-server-token-home-browser"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
NOW_PLAYING = "document.querySelector('#card-plex-now-playing [data-plex-card]')?.dataset"
STREAMS = f"{NOW_PLAYING}?.streams"
DECISIONS = (
    "Array.from(document.querySelectorAll('#card-plex-now-playing [data-decision]'))"
    ".map(e => e.dataset.decision + ':' + e.dataset.state).join(',')"
)
POSTERS_LOADED = (
    "Array.from(document.querySelectorAll('#card-plex-recently-added img.plex-home-poster'))"
    ".filter(i => i.complete && i.naturalWidth > 0).length"
)


def home_pms() -> PlexServerStandin:
    pms = PlexServerStandin(token=TOKEN)
    movies = pms.add_library("Movies", "movie")
    shows = pms.add_library("TV Shows", "show")
    pms.keys = {
        "arrival": pms.add_item(movies, "Arrival", 2016, duration=6_960_000),
        "heat": pms.add_item(movies, "Heat", 1995, duration=10_200_000),
    }
    show = pms.add_item(shows, "Severance", 2022)
    pms.keys["s1e2"] = pms.add_episode(show, 1, 2, "Half Loop")
    return pms


def no_sideways_scroll(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for card_id in ("plex-recently-added", "plex-continue-watching", "plex-now-playing"):
        box = page.locator(f"#card-{card_id}").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 1, (card_id, box)
    # The titles are real text at a readable size, inside the card.
    title = page.locator("#card-plex-now-playing .plex-home-title").first
    assert float(title.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 13
    title_box = title.bounding_box()
    assert title_box is not None and title_box["x"] + title_box["width"] <= width + 1


def test_now_playing_follows_the_streams_live_and_the_home_reads_well_on_a_phone(live_server_factory, page):
    pms = home_pms()
    pms.start()
    try:
        server = live_server_factory(
            env={
                "MEDIANEST_PLEX_URL": pms.url,
                "MEDIANEST_PLEX_TOKEN": TOKEN,
                "MEDIANEST_PLEX_NOW_PLAYING_SECONDS": "1",
            }
        )
        page.set_viewport_size(DESKTOP)
        browser_sign_in(page, server)
        wait_js(page, "document.body.dataset.live === '1'")
        wait_js(page, f"{NOW_PLAYING}?.checked === '1' && {STREAMS} === '0'", timeout=20)  # read at start
        assert "Nothing is playing right now." in page.inner_text("#card-plex-now-playing")
        # Recently added came with the start too, posters through MediaNest.
        wait_js(page, f"{POSTERS_LOADED} >= 3", timeout=20)
        recent = page.inner_text("#card-plex-recently-added")
        assert "Arrival (2016)" in recent and "Severance — S1 · E2" in recent
        # The local admin has no Plex sign-in: said plainly, no error.
        assert "Sign in with Plex to see what you were watching" in page.inner_text("#card-plex-continue-watching")
        page.evaluate("window.__noReload = true")

        pms.set_sessions(
            [
                PlexSession(pms.keys["s1e2"], 11, "Alice", view_offset=1_350_000),
                PlexSession(pms.keys["heat"], 12, "Grandpa Joe", player_title="Kitchen iPad", transcode=True),
            ]
        )
        wait_js(page, f"{STREAMS} === '2'", timeout=15)
        playing = page.inner_text("#card-plex-now-playing")
        assert "Severance — S1 · E2" in playing and "Alice" in playing and "Living Room TV" in playing
        assert "Heat (1995)" in playing and "Grandpa Joe" in playing
        assert "Direct play" in playing and "Transcoding" in playing
        assert page.locator("#card-plex-now-playing progress").first.get_attribute("value") == "50"

        pms.sessions[0].state = "paused"
        pms.set_sessions(pms.sessions)
        wait_js(page, f"{DECISIONS} === 'direct:paused,transcode:playing'", timeout=15)
        pms.set_sessions(pms.sessions[1:])
        wait_js(page, f"{STREAMS} === '1'", timeout=15)
        assert "Severance" not in page.inner_text("#card-plex-now-playing")
        assert page.evaluate("window.__noReload") is True  # all of it without a reload

        no_sideways_scroll(page, DESKTOP["width"])
        page.set_viewport_size(PHONE)
        page.reload()
        wait_js(page, f"{STREAMS} === '1' && {POSTERS_LOADED} >= 3", timeout=20)
        no_sideways_scroll(page, PHONE["width"])
        assert page.locator("#card-plex-now-playing").get_by_text("Transcoding").is_visible()
    finally:
        pms.stop()
