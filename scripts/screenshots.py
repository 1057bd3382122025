"""Take the screenshots in docs/screenshots/ from a real MediaNest and the test stand-ins.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Starts ``medianest run`` with local stand-ins for Overseerr, Plex, Uptime
Kuma, TMDB's images and a playlist site (tests/standins/), signs in with
Chromium (Debian's, or MEDIANEST_TEST_CHROMIUM) through Playwright, and
saves:

- dashboard-unconfigured.png  a fresh install, no service set up
- dashboard-healthy.png       every service answering
- dashboard-one-down.png      Overseerr stopped, the rest answering
- downloads-phone.png         the downloads page at 390 px: one finished,
                              one failed, one under way

Run it from the checkout after ``./scripts/setup``; it takes about a minute.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page, sync_playwright  # noqa: E402

from tests.standins.media_feed import MediaFeedStandin  # noqa: E402
from tests.standins.overseerr import OverseerrStandin  # noqa: E402
from tests.standins.plex import PlexServerStandin  # noqa: E402
from tests.standins.tmdb_images import TmdbImagesStandin  # noqa: E402
from tests.standins.uptime_kuma import UptimeKumaStandin  # noqa: E402
from tests.support.apps import ADMIN_PASSWORD, SECRET, LiveServer  # noqa: E402
from tests.support.services import free_port  # noqa: E402

CHROMIUM = os.environ.get("MEDIANEST_TEST_CHROMIUM", "/usr/bin/chromium")
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
PLEX_TOKEN = "screenshot-plex-token"  # noqa: S105 - the stand-in's made-up token


def wait(condition, timeout: float = 90.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.3)
    raise SystemExit(f"screenshots: {what} did not happen in {timeout:.0f} s")


def server(work: Path, name: str, env: dict[str, str]) -> LiveServer:
    base = {
        "MEDIANEST_DATA_DIR": str(work / f"{name}-data"),
        "MEDIANEST_SECRET_KEY": SECRET,
        "MEDIANEST_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "MEDIANEST_LOG_FORMAT": "text",
        "MEDIANEST_HEALTH_CHECK_INTERVAL": "2",
        "PYTHONPATH": str(ROOT),
    }
    return LiveServer({**base, **env}, free_port(), work / f"{name}.log").start()


def sign_in(page: Page, live: LiveServer) -> None:
    page.goto(live.url + "/auth/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("#local-login button[type=submit]")
    page.wait_for_url(live.url + "/")


def settled(page: Page) -> None:
    wait(lambda: page.evaluate("() => !document.querySelector('.card-pending, .htmx-request')"), 30, "the cards")
    page.wait_for_timeout(400)


def dashboard_when(page: Page, live: LiveServer, test: str, what: str) -> None:
    """Reload the dashboard until ``test`` (JavaScript) holds for it."""

    def ready() -> bool:
        page.goto(live.url + "/")
        settled(page)
        return page.evaluate(f"() => Boolean({test})")

    wait(ready, 90, what)


def seeded_plex() -> PlexServerStandin:
    pms = PlexServerStandin(token=PLEX_TOKEN, machine_identifier="screenshot" * 4)
    movies = pms.add_library("Movies", "movie", locations=["/media/movies"])
    for title, year in [("Alien", 1979), ("Heat", 1995), ("Arrival", 2016), ("Blade Runner", 1982)]:
        pms.add_item(movies, title, year)
    shows = pms.add_library("TV Shows", "show", locations=["/media/tv"])
    pms.add_item(shows, "The Expanse", 2015)
    return pms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the stand-ins' request lines
    args.out.mkdir(parents=True, exist_ok=True)
    overseerr, images, kuma, pms, feed = (
        OverseerrStandin(),
        TmdbImagesStandin(),
        UptimeKumaStandin(),
        seeded_plex(),
        MediaFeedStandin(),
    )
    standins = [overseerr, images, kuma, pms, feed]
    running: list[LiveServer] = []
    with tempfile.TemporaryDirectory(prefix="medianest-screenshots-") as scratch, sync_playwright() as p:
        work = Path(scratch)
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        try:
            for standin in standins:
                standin.start()
            desktop = browser.new_context(viewport=DESKTOP, device_scale_factor=1)
            page = desktop.new_page()

            fresh = server(work, "fresh", {})
            running.append(fresh)
            sign_in(page, fresh)
            settled(page)
            page.screenshot(path=args.out / "dashboard-unconfigured.png")
            print("dashboard-unconfigured.png")
            desktop.clear_cookies()

            feed.add_playlist("garden", "Garden Projects", [("Raised beds", 400_000), ("Compost", 300_000)])
            feed.add_playlist("bread", "Sourdough at Home", [("Starter", 3_000_000), ("Shaping", 3_000_000)])
            household = server(
                work,
                "household",
                {
                    "MEDIANEST_OVERSEERR_URL": overseerr.url,
                    "MEDIANEST_OVERSEERR_API_KEY": "testkey",
                    "MEDIANEST_OVERSEERR_POSTER_URL": images.poster_url,
                    "MEDIANEST_PLEX_URL": pms.url,
                    "MEDIANEST_PLEX_TOKEN": PLEX_TOKEN,
                    "MEDIANEST_UPTIME_KUMA_URL": kuma.url,
                    "MEDIANEST_UPTIME_KUMA_SLUG": "household",
                    "MEDIANEST_YOUTUBE_ALLOWED_HOSTS": "127.0.0.1",
                    "MEDIANEST_YOUTUBE_ALLOWED_PRIVATE": "127.0.0.1",
                    "MEDIANEST_YOUTUBE_DOWNLOAD_ROOT": str(work / "downloads"),
                    "MEDIANEST_YOUTUBE_MIN_FREE_GB": "0",
                    "MEDIANEST_YOUTUBE_RETRIES": "0",
                    "MEDIANEST_RATE_LIMIT_YOUTUBE": "100/hour",
                },
            )
            running.append(household)
            sign_in(page, household)
            every_service = " && ".join(
                f'document.querySelector(\'[data-service="{name}"][data-status="online"]\')'
                for name in ("overseerr", "plex", "uptime_kuma")
            )
            dashboard_when(page, household, every_service, "every service online")
            page.screenshot(path=args.out / "dashboard-healthy.png")
            print("dashboard-healthy.png")

            overseerr.stop()
            dashboard_when(
                page,
                household,
                'document.querySelector(\'[data-service="overseerr"][data-status="offline"]\')',
                "Overseerr offline",
            )
            page.screenshot(path=args.out / "dashboard-one-down.png")
            print("dashboard-one-down.png")

            http = household.session()
            downloads = household.url + "/api/v1/youtube/downloads"

            def start(url: str) -> int:
                answer = http.post(downloads, json={"url": url}, timeout=10)
                if answer.status_code != 201:
                    raise SystemExit(f"screenshots: the download was refused: {answer.text}")
                return answer.json()["data"]["id"]

            def status(n: int) -> str:
                return http.get(f"{downloads}/{n}", timeout=10).json()["data"]["status"]

            done = start(feed.url_for_playlist("garden"))
            wait(lambda: status(done) in ("completed", "failed"), 90, "the first download")
            broken = start(feed.missing_url)
            wait(lambda: status(broken) in ("completed", "failed"), 90, "the failed download")
            feed.bytes_per_second = 150_000
            slow = start(feed.url_for_playlist("bread"))
            wait(
                lambda: (http.get(f"{downloads}/{slow}", timeout=10).json()["data"]["percent"] or 0) > 5, 60, "progress"
            )

            phone = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
            small = phone.new_page()
            sign_in(small, household)
            small.goto(household.url + "/youtube/")
            settled(small)
            small.wait_for_timeout(1500)
            small.screenshot(path=args.out / "downloads-phone.png")
            print("downloads-phone.png")
            feed.bytes_per_second = None
            http.post(f"{downloads}/{slow}/cancel", timeout=10)
        finally:
            for live in running:
                live.stop()
            for standin in standins:
                standin.stop()
            browser.close()


if __name__ == "__main__":
    main()
