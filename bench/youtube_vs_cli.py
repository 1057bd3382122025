"""Submit -> completed through the production setup, against the raw yt-dlp command.

One run measures both on the same local playlist (the media-feed stand-in:
an RSS feed of real MP4s made by ffmpeg, served on 127.0.0.1):

* MediaNest: gunicorn (``medianest run`` with REDIS_URL and DATABASE_URL),
  ``medianest worker`` (prefork), Redis and PostgreSQL.  The clock starts
  before ``POST /api/v1/youtube/downloads`` and stops when the
  ``youtube.download.completed`` event reaches a Socket.IO client.
* yt-dlp: ``python -m yt_dlp -o <dir>/... <feed URL>``, process start to exit.

Each side runs ``--runs`` times on a fresh copy of the playlist (a new feed,
so nothing is skipped as already downloaded) after one warm-up run; the
medians are compared.  A ratio <= 1.00 means MediaNest is no slower than the
command.

    python bench/youtube_vs_cli.py [--entries 6] [--size-kb 2048] [--runs 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.standins.media_feed import MediaFeedStandin  # noqa: E402
from tests.support.apps import ADMIN_PASSWORD, SECRET, LiveServer, Process  # noqa: E402
from tests.support.services import PostgresDatabases, free_port, redis_database  # noqa: E402


def cli_run(url: str, out: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "yt_dlp",
            "--quiet",
            "--no-warnings",
            "--no-progress",
            "-o",
            str(out / "%(playlist_index)s - %(title)s [%(id)s].%(ext)s"),
            url,
        ],
        check=True,
    )
    return time.perf_counter() - started


class Completion:
    """Waits for youtube.download.completed over Socket.IO."""

    def __init__(self, server: LiveServer, http) -> None:
        import socketio

        self.done: dict[int, float] = {}
        self.cond = threading.Condition()
        self.client = socketio.Client(reconnection=False)

        @self.client.on("youtube.download.completed")
        def _completed(data):
            with self.cond:
                self.done[data["download_id"]] = time.perf_counter()
                self.cond.notify_all()

        cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
        self.client.connect(server.url, headers={"Cookie": cookie}, wait_timeout=10)

    def wait(self, download_id: int, timeout: float = 300) -> float:
        with self.cond:
            if not self.cond.wait_for(lambda: download_id in self.done, timeout):
                raise TimeoutError(f"download {download_id} did not complete")
            return self.done[download_id]


def medianest_run(server: LiveServer, http, completion: Completion, url: str) -> float:
    started = time.perf_counter()
    response = http.post(server.url + "/api/v1/youtube/downloads", json={"url": url, "format": "best"}, timeout=30)
    response.raise_for_status()
    return completion.wait(response.json()["data"]["id"]) - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=6)
    parser.add_argument("--size-kb", type=int, default=2048)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="medianest-bench-"))
    feed = MediaFeedStandin()
    feed.start()
    playlists = []
    for run in range(args.runs * 2 + 2):
        name = f"bench{run}"
        feed.add_playlist(name, f"Bench {run}", [(f"Clip {i}", args.size_kb * 1024) for i in range(args.entries)])
        playlists.append(feed.url_for_playlist(name))

    databases = PostgresDatabases()
    processes: list = []
    try:
        with redis_database() as redis_url:
            env = {
                "MEDIANEST_DATA_DIR": str(work / "data"),
                "MEDIANEST_SECRET_KEY": SECRET,
                "MEDIANEST_ADMIN_PASSWORD": ADMIN_PASSWORD,
                "MEDIANEST_LOG_FORMAT": "text",
                "MEDIANEST_LOG_LEVEL": "WARNING",
                "DATABASE_URL": databases.create(),
                "REDIS_URL": redis_url,
                "PYTHONPATH": str(ROOT),
                "MEDIANEST_YOUTUBE_ALLOWED_HOSTS": "127.0.0.1",
                "MEDIANEST_YOUTUBE_ALLOWED_PRIVATE": "127.0.0.1",  # the media stand-in is on loopback
                "MEDIANEST_YOUTUBE_DOWNLOAD_ROOT": str(work / "medianest"),
                "MEDIANEST_YOUTUBE_MIN_FREE_GB": "0",
                "MEDIANEST_RATE_LIMIT_YOUTUBE": "1000/hour",
            }
            server = LiveServer(env, free_port(), work / "server.log")
            processes.append(server)
            server.start()
            worker = Process(["worker", "--pool", "prefork", "-c", "2"], env, work / "worker.log")
            processes.append(worker)
            worker.start()
            worker.wait_for_log("ready", timeout=60)
            http = server.session()
            completion = Completion(server, http)

            urls = iter(playlists)
            # warm-up: the first task imports yt-dlp in the worker child; the first command fills the OS cache
            medianest_run(server, http, completion, next(urls))
            cli_run(next(urls), work / "cli-warmup")
            ours, theirs = [], []
            for run in range(args.runs):  # interleaved, so both see the same machine load
                ours.append(medianest_run(server, http, completion, next(urls)))
                theirs.append(cli_run(next(urls), work / f"cli-{run}"))
            completion.client.disconnect()
    finally:
        for proc in reversed(processes):
            proc.stop()
        feed.stop()
        databases.drop_all()

    ours_median, theirs_median = statistics.median(ours), statistics.median(theirs)
    print(f"playlist: {args.entries} entries x {args.size_kb} KiB, {args.runs} runs each (after one warm-up)")
    print(
        f"MediaNest (gunicorn + Celery prefork + Redis + PostgreSQL), submit -> completed event: "
        f"median {ours_median:.3f} s  runs {[round(t, 3) for t in ours]}"
    )
    print(f"yt-dlp command, start -> exit: median {theirs_median:.3f} s  runs {[round(t, 3) for t in theirs]}")
    print(f"ratio MediaNest / yt-dlp: {ours_median / theirs_median:.2f} (target <= 1.00)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
