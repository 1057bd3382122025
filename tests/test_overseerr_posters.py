"""Posters of Overseerr's search results: fetched from TMDB's image server through the egress
guard, kept on disk, served by MediaNest; the results as a poster grid in Chromium."""

from __future__ import annotations

import os
import time

import pytest
from medianest_overseerr import posters

from tests.conftest import browser_sign_in, wait_js
from tests.standins.overseerr import OverseerrStandin
from tests.standins.tmdb_images import TmdbImagesStandin

NAME = "f89U3ADr1oiB1s9GkdPOEpXUk5H.jpg"  # The Matrix's poster on TMDB


@pytest.fixture
def images():
    standin = TmdbImagesStandin()
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture
def overseerr():
    standin = OverseerrStandin()
    standin.start()
    yield standin
    standin.stop()


@pytest.mark.sqlite_only
def test_a_poster_is_fetched_once_and_served_from_disk(app, user_client, images, monkeypatch):
    monkeypatch.setenv("MEDIANEST_OVERSEERR_POSTER_URL", images.poster_url)
    first = user_client.get(f"/media/posters/{NAME}")
    assert first.status_code == 200 and first.mimetype == "image/png"
    assert first.data.startswith(b"\x89PNG")
    assert "private" in first.headers["Cache-Control"]
    second = user_client.get(f"/media/posters/{NAME}")
    assert second.status_code == 200 and second.data == first.data
    assert images.fetches() == [f"/t/p/w300/{NAME}"]  # the second came from the cache
    cached = list((app.config["MEDIANEST"].data_dir / "cache" / "overseerr-posters").iterdir())
    assert [p.suffix for p in cached] == [".png"]


@pytest.mark.sqlite_only
def test_only_poster_names_and_only_the_image_server(app, client, user_client, images, monkeypatch):
    monkeypatch.setenv("MEDIANEST_OVERSEERR_POSTER_URL", images.poster_url)
    assert client.get(f"/media/posters/{NAME}").status_code in (302, 401)  # signed in only
    for name in ("..%2F..%2Fetc%2Fpasswd", "poster.svg", "a.jpg%3Fx=1", "x" * 90 + ".jpg"):
        answer = user_client.get(f"/media/posters/{name}")
        assert answer.status_code == 404, name
    images.posters = {"/known.jpg"}
    missing = user_client.get("/media/posters/unknown.jpg")
    assert missing.status_code == 404 and b"no such poster" in missing.data
    assert images.fetches() == ["/t/p/w300/unknown.jpg"]

    # A redirect elsewhere is not followed.
    images.redirect_to = "http://127.0.0.1:9/elsewhere/"
    assert user_client.get("/media/posters/known.jpg").status_code == 404
    images.redirect_to = None

    # A host name that resolves to a private address is refused by the egress guard: only an
    # address spelled out in the setting opens a private address.
    monkeypatch.setenv("MEDIANEST_OVERSEERR_POSTER_URL", f"http://localhost:{images.port}/t/p/w300")
    before = len(images.fetches())
    refused = user_client.get("/media/posters/known.jpg")
    assert refused.status_code == 502
    assert b"could not be fetched" in refused.data and b"Traceback" not in refused.data
    assert len(images.fetches()) == before


def search_env(overseerr: OverseerrStandin, images: TmdbImagesStandin) -> dict[str, str]:
    overseerr.set_media_status(603, "movie", "AVAILABLE")
    overseerr.set_media_status(604, "movie", "PENDING")
    overseerr.set_media_status(605, "movie", "PROCESSING")
    overseerr.set_media_status(1399, "tv", "PARTIALLY_AVAILABLE", seasons={1: "AVAILABLE"})
    return {
        "MEDIANEST_OVERSEERR_URL": overseerr.url,
        "MEDIANEST_OVERSEERR_API_KEY": "testkey",
        "MEDIANEST_OVERSEERR_FALLBACK_TO_ADMIN": "admin",
        "MEDIANEST_OVERSEERR_POSTER_URL": images.poster_url,
    }


def check_grid(page, width: int) -> None:
    cards = page.locator("#search-results .poster-grid > li")
    assert cards.count() == 4
    wait_js(page, "[...document.querySelectorAll('.poster-image')].every(i => i.complete && i.naturalWidth > 0)")
    badges = {
        card.get_attribute("id"): card.locator(".poster-badge").inner_text()
        for card in cards.all()
        if card.locator(".poster-badge").count()
    }
    assert badges == {
        "media-movie-603": "Available",
        "media-movie-604": "Pending",
        "media-movie-605": "Requested",
        "media-tv-1399": "Partially available",
    }
    matrix = page.locator("#media-movie-603")
    assert matrix.get_by_role("img", name="The Matrix (1999)").get_attribute("src") == f"/media/posters/{NAME}"
    assert page.get_by_role("article", name="Game of Thrones").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    columns = page.evaluate(
        "getComputedStyle(document.querySelector('.poster-grid')).gridTemplateColumns.split(' ').length"
    )
    assert columns == 2 if width <= 400 else columns >= 4


@pytest.mark.browser
def test_search_results_are_a_poster_grid_on_a_desktop_and_a_phone(live_server_factory, browser, overseerr, images):
    server = live_server_factory(env=search_env(overseerr, images))
    outside: list[str] = []
    for viewport in ({"width": 1280, "height": 900}, {"width": 390, "height": 844}):
        phone = viewport["width"] < 500
        context = browser.new_context(viewport=viewport, is_mobile=phone, has_touch=phone)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(server.url) else None)
        try:
            browser_sign_in(page, server)
            page.goto(server.url + "/media/")
            page.fill("#media-query", "e")
            page.locator("#search-results .poster-grid").wait_for()
            check_grid(page, viewport["width"])
            if not phone:
                # Keyboard: from the search box, Tab reaches the first card's details, then its button.
                page.focus("#media-query")
                page.keyboard.press("Tab")  # the Search button
                page.keyboard.press("Tab")
                focused = page.evaluate("document.activeElement.closest('.poster-card')?.id")
                assert focused is not None
                page.keyboard.press("Enter")  # opens "About"
                assert page.locator(f"#{focused} details").get_attribute("open") is not None
                # The series' season picker takes the whole row, the grid still fits.
                series = page.locator("#media-tv-1399")
                series.get_by_role("link", name="Request missing seasons (approved automatically)").click()
                series.locator(".season-picker").wait_for()
                box = series.bounding_box()
                assert box["width"] > viewport["width"] * 0.7
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        finally:
            context.close()
    assert outside == []  # no poster from image.tmdb.org, nothing from anywhere else
    assert sorted(images.fetches()) == sorted(
        {
            f"/t/p/w300{p}"
            for p in (
                "/f89U3ADr1oiB1s9GkdPOEpXUk5H.jpg",
                "/standin-604-poster.jpg",
                "/standin-605-poster.jpg",
                "/1XS1oqL89opfnbLl8WnZY1O1uJx.jpg",
            )
        }
    )  # each poster fetched once, for both browsers


@pytest.mark.sqlite_only
def test_posters_nobody_looked_at_for_a_month_are_pruned(app, user_client, images, monkeypatch):
    monkeypatch.setenv("MEDIANEST_OVERSEERR_POSTER_URL", images.poster_url)
    assert user_client.get("/media/posters/old.jpg").status_code == 200
    assert user_client.get("/media/posters/recent.jpg").status_code == 200
    with app.app_context():
        files = sorted(posters.folder().iterdir())
        assert len(files) == 2
        month_ago = time.time() - 31 * 86400
        os.utime(files[0], (month_ago, month_ago))
        assert posters.prune() == 1
        assert sorted(posters.folder().iterdir()) == files[1:]
    # The pruned one is fetched again when someone asks.
    before = len(images.fetches())
    assert user_client.get("/media/posters/old.jpg").status_code == 200
    assert user_client.get("/media/posters/recent.jpg").status_code == 200
    assert len(images.fetches()) == before + 1
