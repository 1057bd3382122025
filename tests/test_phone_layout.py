"""Every page at 390 px in Chromium: walked over the app's URL map, as an admin and as a user.

The services are local stand-ins with content (Overseerr's catalogue, a Plex
library with collections, Uptime Kuma monitors, a finished and a failed
download, an audit log), so the pages show what a household sees. The test
fails when the page scrolls sideways at 390 px, or at desktop width, and
when a page with a parameter in its URL is added without a value to open it
with here (a page without parameters is walked on its own).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import browser_sign_in, wait_js
from tests.standins.overseerr import OverseerrStandin
from tests.standins.tmdb_images import TmdbImagesStandin
from tests.standins.uptime_kuma import UptimeKumaStandin
from tests.support.apps import add_local_users, build_app, make_settings
from tests.support.waiting import wait_for
from tests.test_plex_live import plex_env, seeded_pms
from tests.test_youtube_support import feed_fixture  # noqa: F401  (the local playlist server)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
PASSWORD = "a-long-password-for-tests"

# GET routes that are not pages a person opens: files, images, probes, machine answers.
NOT_PAGES = {
    "static",
    "vendor.vendor",
    "health.healthz",
    "metrics.metrics",
    "plex.poster",
    "overseerr.poster",
    "plex.download_collection_fragment",  # a part of the download's page, walked with it
    "webapp.manifest",  # JSON and a script for the browser, not pages
    "webapp.service_worker",
    "notifications.bell",  # the bell's count, a fragment the top bar loads
}


def page_rules(server, work: Path) -> dict[str, str]:
    """Every GET page route of the running server's app: endpoint -> rule."""
    url = server.env.get("DATABASE_URL") or f"sqlite:///{Path(server.env['MEDIANEST_DATA_DIR']) / 'medianest.db'}"
    app = build_app(make_settings(work / "url-map-app", url))
    rules = {}
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith("/api/v1/") or rule.endpoint in NOT_PAGES:
            continue
        rules[rule.endpoint] = rule.rule
    return rules


def settle(page) -> None:
    """The page and what it loads after itself (dashboard cards, htmx fragments)."""
    page.wait_for_load_state("load")
    wait_js(page, "!document.querySelector('.card-pending, .htmx-request')")
    page.wait_for_timeout(150)


def widths(page, url: str) -> tuple[int, int]:
    page.goto(url)
    settle(page)
    return page.evaluate("document.documentElement.scrollWidth"), page.evaluate("window.innerWidth")


def overflowing(page) -> list[str]:
    """The elements sticking out on the right, for the failure message."""
    return page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
            .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
              (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : '') +
              ' ' + Math.round(e.getBoundingClientRect().right) + 'px')"""
    )


@pytest.fixture
def household(live_server_factory, feed, tmp_path):
    """A server with every service configured against a stand-in, and things to show."""
    overseerr, images, kuma, pms = OverseerrStandin(), TmdbImagesStandin(), UptimeKumaStandin(), seeded_pms()
    for standin in (overseerr, images, kuma, pms):
        standin.start()
    root = tmp_path / "downloads"
    env = {
        "MEDIANEST_OVERSEERR_URL": overseerr.url,
        "MEDIANEST_OVERSEERR_API_KEY": "testkey",
        "MEDIANEST_OVERSEERR_FALLBACK_TO_ADMIN": "admin",
        "MEDIANEST_OVERSEERR_POSTER_URL": images.poster_url,
        "MEDIANEST_UPTIME_KUMA_URL": kuma.url,
        "MEDIANEST_UPTIME_KUMA_SLUG": "household",
        "MEDIANEST_YOUTUBE_ALLOWED_HOSTS": "127.0.0.1",
        "MEDIANEST_YOUTUBE_ALLOWED_PRIVATE": "127.0.0.1",
        "MEDIANEST_YOUTUBE_DOWNLOAD_ROOT": str(root),
        "MEDIANEST_YOUTUBE_SOCKET_TIMEOUT": "5",
        "MEDIANEST_YOUTUBE_RETRIES": "0",
        "MEDIANEST_YOUTUBE_MIN_FREE_GB": "0",
        "MEDIANEST_RATE_LIMIT_API": "10000/minute",
        "MEDIANEST_RATE_LIMIT_YOUTUBE": "1000/hour",
        "MEDIANEST_RATE_LIMIT_LOGIN": "1000/minute",  # a sign-in per walk, several walks a minute
        **plex_env(pms),
    }
    server = live_server_factory(env=env)
    ids = add_local_users(server, tmp_path, PASSWORD, "alice")
    admin, alice = server.session(), server.session("alice", PASSWORD)
    made = []
    for http, url in (
        (alice, feed.url_for_playlist("cooking")),
        (admin, feed.url_for_playlist("cooking")),
        (alice, feed.missing_url),
    ):
        answer = http.post(server.url + "/api/v1/youtube/downloads", json={"url": url}, timeout=10)
        assert answer.status_code == 201, answer.text
        made.append(answer.json()["data"]["id"])
    wait_for(
        lambda: all(
            admin.get(f"{server.url}/api/v1/youtube/downloads/{n}", timeout=10).json()["data"]["status"]
            in ("completed", "failed")
            for n in made
        ),
        timeout=120,
        what="the downloads settled",
    )
    # Something in the audit log, and a media request to list.
    assert admin.patch(f"{server.url}/api/v1/admin/users/{ids['alice']}", json={"role": "admin"}, timeout=10).ok
    assert admin.patch(f"{server.url}/api/v1/admin/users/{ids['alice']}", json={"role": "user"}, timeout=10).ok
    answer = admin.post(server.url + "/api/v1/media/requests", json={"media_type": "movie", "tmdb_id": 603}, timeout=10)
    assert answer.status_code in (200, 201), answer.text
    plex = {
        "library": admin.get(server.url + "/api/v1/plex/libraries", timeout=10).json()["data"][0]["key"],
        "collection": admin.get(server.url + "/api/v1/plex/collections", timeout=10).json()["data"][0]["key"],
    }
    items = admin.get(f"{server.url}/api/v1/plex/libraries/{plex['library']}/items", timeout=10).json()["data"]
    plex["item"] = items[0]["key"]
    invite = admin.post(server.url + "/api/v1/admin/invites", json={"note": "Carol"}, timeout=10)
    assert invite.status_code == 201, invite.text
    yield server, {"downloads": made, "plex": plex, "invite": invite.json()["data"]["token"]}
    for standin in (overseerr, images, kuma, pms):
        standin.stop()


def urls_to_walk(rules: dict[str, str], content: dict, cards: list[str]) -> list[str]:
    """Each page's URL, parameters filled with things that exist; extra URLs for states worth seeing."""
    plex = content["plex"]
    values = {
        "dashboard.card": [f"/dashboard/cards/{card}" for card in cards],
        "youtube.detail": [f"/youtube/{n}" for n in content["downloads"]],
        "overseerr.seasons_page": ["/media/tv/1399"],
        "plex.library_page": [f"/plex/libraries/{plex['library']}"],
        "plex.library_collections_page": [f"/plex/libraries/{plex['library']}/collections"],
        "plex.collection_page": [f"/plex/collections/{plex['collection']}"],
        "plex.item_page": [f"/plex/items/{plex['item']}"],
        "auth.setup_admin": ["/setup/used-or-unknown-link"],
        "auth.invite_page": [f"/invite/{content['invite']}", "/invite/used-or-unknown-link"],
    }
    urls = ["/media/?query=star", "/media/?query=game", "/plex/search?query=a"]
    for endpoint, rule in sorted(rules.items(), key=lambda pair: pair[1]):
        if "<" not in rule:
            urls.append(rule)
        else:
            assert endpoint in values, f"{rule} ({endpoint}) is a page the phone walk does not know how to open"
            urls.extend(values[endpoint])
    return urls


def walk(browser, server, urls: list[str], viewport: dict, who: str | None) -> list[str]:
    context = browser.new_context(viewport=viewport, is_mobile=viewport is PHONE, has_touch=viewport is PHONE)
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems = []
    try:
        if who == "admin":
            browser_sign_in(page, server)
        elif who:
            browser_sign_in(page, server, who, PASSWORD)
        for url in urls:
            scroll, inner = widths(page, server.url + url)
            if scroll > viewport["width"] or inner != viewport["width"]:
                problems.append(f"{who or 'signed out'} {url}: {scroll} px wide; {overflowing(page)}")
    finally:
        context.close()
    return problems


def test_every_page_fits_a_phone_and_a_desktop(household, browser, tmp_path):
    server, content = household
    rules = page_rules(server, tmp_path)
    admin = server.session()
    dashboard = admin.get(server.url + "/", timeout=10).text
    cards = re.findall(r'id="card-([a-z0-9-]+)"', dashboard)
    assert len(cards) >= 4, cards
    urls = urls_to_walk(rules, content, cards)
    assert "/admin/audit" in urls and "/youtube/" in urls and "/api/docs" in urls

    problems = walk(browser, server, urls, PHONE, "admin")
    problems += walk(browser, server, urls, PHONE, "alice")
    problems += walk(
        browser,
        server,
        ["/auth/login", "/auth/plex", "/setup/used-or-unknown-link", f"/invite/{content['invite']}", "/api/docs"],
        PHONE,
        None,
    )
    problems += walk(browser, server, urls, DESKTOP, "admin")
    assert problems == []


def test_downloads_list_shows_status_and_progress_on_a_phone(household, browser):
    server, content = household
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        browser_sign_in(page, server)
        page.goto(server.url + "/youtube/")
        settle(page)
        rows = page.locator("#youtube-list tbody tr")
        assert rows.count() == len(content["downloads"])
        for n in range(rows.count()):
            row = rows.nth(n)
            for part in (row.locator(".badge").first, row.locator("progress")):
                box = part.bounding_box()
                assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (n, box)
                assert part.is_visible()
        texts = rows.locator(".badge").all_inner_texts()
        assert len(texts) == 3 and all(t.strip() for t in texts), texts
        page.goto(server.url + "/admin/audit")
        settle(page)
        table = page.locator("#audit table")
        assert table.bounding_box()["width"] <= PHONE["width"]
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        context.close()
