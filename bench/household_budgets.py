"""A household's budgets, in both running modes: latency at household load, memory, start-up.

Production: ``medianest run`` with PostgreSQL and Redis (gunicorn + gevent,
``medianest/gunicorn_conf.py``) and ``medianest worker`` (prefork x2), as
bench/stack.py starts them.  Embedded: ``medianest run`` with nothing
configured (SQLite in the instance folder, the in-process worker and beat,
gevent's server).  In each:

1. Household load, open loop (bench/openloop.py): 100 requests per second
   over 20 kept-alive connections for 30 s, each request due at a fixed time
   and timed from then, on ``GET /api/v1/youtube/downloads`` with a personal
   API token (a page of 25 rows, as bench/api_throughput.py seeds them) and
   on the dashboard page with a session cookie.  Budget: p99 <= 25 ms.
2. Memory, counted as PSS (``/proc/<pid>/smaps_rollup``, summed over the
   process and its descendants, so pages shared between a parent and its
   children count once), after one playlist download (the media-feed
   stand-in on 127.0.0.1) and a few seconds of rest.  Budgets: embedded
   ``medianest run`` <= 150 MiB; production web process (gunicorn arbiter +
   its worker) <= 120 MiB; ``medianest worker`` with its children <= 250 MiB.
   Beside the web process, its floor measured the same way: the throughput
   floor of bench/api_throughput.py (bare Flask, SQLAlchemy Core on
   psycopg2, orjson) under gunicorn + gevent with the same configuration file.
3. Start-up of the embedded server on SQLite with the migrations already
   applied: ``medianest run`` started to the first answer of ``/healthz``,
   median of three starts.  Budget: <= 2 s.  The checkout's own modules are
   compiled to byte code by the first start (into a cache folder of this run,
   as an installed wheel carries them), not on every start.

    python bench/household_budgets.py [--seconds 30]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import logging
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api_throughput  # noqa: E402
from openloop import open_loop  # noqa: E402
from stack import GENEROUS, ROOT, Stack, descendants, production_stack  # noqa: E402

from tests.standins.media_feed import MediaFeedStandin  # noqa: E402
from tests.support.apps import ADMIN_PASSWORD, SECRET  # noqa: E402
from tests.support.services import free_port  # noqa: E402

RATE, CONNECTIONS = 100, 20
LOAD_P99_MS = 25
PSS_EMBEDDED_MIB, PSS_WEB_MIB, PSS_WORKER_MIB = 150, 120, 250
STARTUP_S = 2.0
STARTS = 3
DOWNLOAD_ENV = {
    "MEDIANEST_YOUTUBE_ALLOWED_HOSTS": "127.0.0.1",
    "MEDIANEST_YOUTUBE_ALLOWED_PRIVATE": "127.0.0.1",  # the media stand-in is on loopback
    "MEDIANEST_YOUTUBE_MIN_FREE_GB": "0",
    "MEDIANEST_RATE_LIMIT_YOUTUBE": "1000/hour",
}


def pss_kib(pid: int, children: bool = True) -> int:
    """Proportional set size of a process and (unless told not to) all its descendants (KiB)."""
    total = 0
    for candidate in [pid, *descendants(pid)] if children else [pid]:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{candidate}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
    return total


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def signed_in(url: str) -> requests.Session:
    http = requests.Session()
    response = http.post(url + "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}, timeout=10)
    response.raise_for_status()
    http.headers["X-CSRFToken"] = response.json()["data"]["csrf_token"]
    return http


def download_once(url: str, http: requests.Session, feed: MediaFeedStandin, name: str) -> None:
    """One playlist of three clips, submitted and waited for until it is completed."""
    feed.add_playlist(name, f"Budget {name}", [(f"Clip {i}", 512 * 1024) for i in range(3)])
    made = http.post(
        url + "/api/v1/youtube/downloads", json={"url": feed.url_for_playlist(name), "format": "best"}, timeout=30
    )
    made.raise_for_status()
    download = made.json()["data"]["id"]
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        status = http.get(f"{url}/api/v1/youtube/downloads/{download}", timeout=10).json()["data"]["status"]
        if status == "completed":
            return
        if status in ("failed", "cancelled"):
            raise RuntimeError(f"the download ended {status}")
        time.sleep(0.3)
    raise TimeoutError("the download did not complete")


def household_load(url: str, token: str, http: requests.Session, seconds: float) -> dict:
    list_url = url + "/api/v1/youtube/downloads"
    auth = {"Authorization": f"Bearer {token}"}
    page = requests.get(list_url, headers=auth, timeout=10)
    assert page.status_code == 200 and len(page.json()["data"]) == api_throughput.PAGE_ROWS, page.text[:300]
    cookie = {"Cookie": "; ".join(f"{c.name}={c.value}" for c in http.cookies)}
    dashboard = requests.get(url + "/", headers=cookie, timeout=10, allow_redirects=False)
    assert dashboard.status_code == 200 and "<html" in dashboard.text.lower(), dashboard.status_code
    results = {}
    for name, target, headers in (("list", list_url, auth), ("dashboard", url + "/", cookie)):
        open_loop(target, headers, RATE, CONNECTIONS, 2)  # warm-up
        results[name] = open_loop(target, headers, RATE, CONNECTIONS, seconds)
        if results[name]["failed"]:
            raise RuntimeError(f"{name}: {results[name]['failed']} answers were not 200")
    return results


# ------------------------------------------------------------------ production
def measure_production(work: Path, feed: MediaFeedStandin, seconds: float) -> dict:
    env = {**DOWNLOAD_ENV, "MEDIANEST_YOUTUBE_DOWNLOAD_ROOT": str(work / "production-downloads")}
    with production_stack(**env) as stack:
        stack.start_worker()
        api_throughput.seed(stack)
        token = stack.token()
        http = stack.session()
        download_once(stack.url, http, feed, "production")
        time.sleep(3)
        memory = {
            "web_mib": pss_kib(stack.web.pid) / 1024,
            "arbiter_mib": pss_kib(stack.web.pid, children=False) / 1024,
            "worker_mib": pss_kib(_worker(stack)) / 1024,
            "floor_web_mib": floor_web_pss_kib(stack) / 1024,
        }
        load = household_load(stack.url, token, http, seconds)
    return {"load": load, **memory}


def floor_web_pss_kib(stack: Stack) -> int:
    """PSS of the throughput floor (bench/api_throughput.py: bare Flask, SQLAlchemy Core on psycopg2, orjson)
    under gunicorn + gevent with MediaNest's configuration file, arbiter and worker, after 200 answers."""
    url = api_throughput.floor_server(stack) + "completed"
    http = requests.Session()
    for _ in range(200):
        http.get(url, timeout=10).raise_for_status()
    time.sleep(1)
    arbiter = next(proc for proc in stack.procs if proc.log.name == "floor_app.log")
    return pss_kib(arbiter.pid)


def _worker(stack: Stack) -> int:
    assert stack.worker is not None
    return stack.worker.pid


# ------------------------------------------------------------------ embedded
class EmbeddedServer:
    """``medianest run`` with nothing configured, started and stopped as a household would (Ctrl-C)."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        environment.pop("PYTHONDONTWRITEBYTECODE", None)
        self.env = {
            **environment,
            **DOWNLOAD_ENV,
            "MEDIANEST_DATA_DIR": str(work / "embedded-data"),
            "MEDIANEST_YOUTUBE_DOWNLOAD_ROOT": str(work / "embedded-downloads"),
            "MEDIANEST_SECRET_KEY": SECRET,
            "MEDIANEST_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "MEDIANEST_LOG_FORMAT": "text",
            "MEDIANEST_LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
            "MEDIANEST_RATE_LIMIT_API": GENEROUS,
            "MEDIANEST_RATE_LIMIT_LOGIN": "1000/minute",
            "PYTHONPATH": str(ROOT),
            "PYTHONPYCACHEPREFIX": str(work / "pycache"),
        }
        self.proc: subprocess.Popen | None = None
        self.cpu_seconds = 0.0

    def start(self, timeout: float = 90) -> float:
        """Start it; seconds from the process's start to the first answer of ``/healthz``.

        ``self.cpu_seconds`` is what the process had used of the CPU by then:
        on a busy machine the wall clock says more about the neighbours.
        """
        log = open(self.work / "embedded.log", "ab")  # noqa: SIM115 - the child writes it until stop()
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from medianest.cli import main; main()", "run", "--port", str(self.port)],
            env=self.env,
            cwd=self.work,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        while time.perf_counter() - started < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"medianest run exited: {self.log()[-2000:]}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    elapsed = time.perf_counter() - started
                    self.cpu_seconds = cpu_seconds(self.proc.pid)
                    return elapsed
            time.sleep(0.01)
        raise RuntimeError(f"medianest run did not answer: {self.log()[-2000:]}")

    def stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def log(self) -> str:
        return (self.work / "embedded.log").read_text(errors="replace")

    def seed(self) -> None:
        """The page of rows bench/api_throughput.py seeds, written into the server's SQLite file."""
        database = sqlite3.connect(Path(self.env["MEDIANEST_DATA_DIR"]) / "medianest.db", timeout=30)
        with database:
            (admin,) = database.execute("SELECT id FROM users WHERE username = 'admin'").fetchone()
            database.executemany(
                "INSERT INTO youtube_downloads (user_id, url, format, status, title, folder, percent, attempts, "
                "cancel_requested, created_at, files) VALUES (?, ?, 'best', 'completed', ?, ?, 100, 1, 0, "
                "datetime('now', ?), ?)",
                [
                    (
                        admin,
                        f"https://www.youtube.com/playlist?list=PLthroughput{n}",
                        f"Playlist {n}",
                        f"Playlist {n}",
                        f"-{n} seconds",
                        '[{"name": "01 - Clip.mp4", "size": 1048576, "title": "Clip", "index": 1}]',
                    )
                    for n in range(1, api_throughput.PAGE_ROWS + 1)
                ],
            )
        database.close()


def measure_embedded(work: Path, feed: MediaFeedStandin, seconds: float) -> dict:
    server = EmbeddedServer(work)
    try:
        server.start()  # the first start applies the migrations and compiles the byte code
        server.seed()
        http = signed_in(server.url)
        token = http.post(server.url + "/api/v1/auth/tokens", json={"name": "bench"}, timeout=10).json()["data"]
        download_once(server.url, http, feed, "embedded")
        time.sleep(3)
        memory = pss_kib(server.proc.pid) / 1024
        load = household_load(server.url, token["token"], http, seconds)
        server.stop()
        starts, cpu = [], []
        for _ in range(STARTS):
            starts.append(server.start())
            cpu.append(server.cpu_seconds)
            server.stop()
    finally:
        server.stop()
    return {
        "load": load,
        "pss_mib": memory,
        "startup_s": statistics.median(starts),
        "starts": starts,
        "startup_cpu_s": statistics.median(cpu),
    }


def measure(seconds: float = 30) -> dict:
    work = Path(tempfile.mkdtemp(prefix="medianest-budgets-"))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the media-feed stand-in's request log
    feed = MediaFeedStandin()
    feed.start()
    try:
        return {
            "production": measure_production(work, feed, seconds),
            "embedded": measure_embedded(work, feed, seconds),
        }
    finally:
        feed.stop()
        shutil.rmtree(work, ignore_errors=True)


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def rows(result: dict) -> list[tuple[str, str, str, str]]:
    """(what, figure, target, verdict) for bench/run_all.py's table."""
    out = []
    for mode in ("production", "embedded"):
        for name, what in (("list", "GET /api/v1/youtube/downloads (token)"), ("dashboard", "dashboard (cookie)")):
            load = result[mode]["load"][name]
            out.append(
                (
                    f"8. {mode}, {what}, {RATE}/s over {CONNECTIONS} kept-alive connections, open loop",
                    f"p50 {load['p50']:.1f} ms, p99 {load['p99']:.1f} ms",
                    f"p99 <= {LOAD_P99_MS} ms",
                    verdict(load["p99"] <= LOAD_P99_MS),
                )
            )
    embedded, production = result["embedded"], result["production"]
    out += [
        (
            "9. PSS after a download, embedded medianest run",
            f"{embedded['pss_mib']:.0f} MiB",
            f"<= {PSS_EMBEDDED_MIB} MiB",
            verdict(embedded["pss_mib"] <= PSS_EMBEDDED_MIB),
        ),
        (
            "9. PSS after a download, production web (arbiter + gevent worker)",
            f"{production['web_mib']:.0f} MiB (arbiter {production['arbiter_mib']:.0f}; "
            f"floor {production['floor_web_mib']:.0f})",
            f"<= {PSS_WEB_MIB} MiB",
            verdict(production["web_mib"] <= PSS_WEB_MIB),
        ),
        (
            "9. PSS after a download, medianest worker + children (prefork x2)",
            f"{production['worker_mib']:.0f} MiB",
            f"<= {PSS_WORKER_MIB} MiB",
            verdict(production["worker_mib"] <= PSS_WORKER_MIB),
        ),
        (
            f"10. start-up, embedded medianest run -> first /healthz (SQLite, migrated; median of {STARTS})",
            f"{embedded['startup_s']:.2f} s (CPU {embedded['startup_cpu_s']:.2f} s)",
            f"<= {STARTUP_S:g} s",
            verdict(embedded["startup_s"] <= STARTUP_S),
        ),
    ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30, help="length of each open-loop run")
    args = parser.parse_args()
    result = measure(args.seconds)
    table = rows(result)
    width = max(len(r[0]) for r in table)
    for what, figure, target, met in table:
        print(f"{what:{width}}  {figure:32}  {target:13}  {met}")
    for mode in ("production", "embedded"):
        for name, load in result[mode]["load"].items():
            print(f"{mode} {name}: {load['sent']} requests, max {load['max']:.1f} ms")
    print(f"embedded starts: {[round(s, 2) for s in result['embedded']['starts']]} s")
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
