"""Benchmark: the dashboard with one service blackholed, through the real server.

Starts MediaNest in production mode (``medianest run`` -> gunicorn + gevent, with
PostgreSQL and Redis from this machine, plus ``medianest worker -B`` running the
health checks), points Uptime Kuma at a TCP blackhole (accepts, never answers),
seeds 24 h of check history, then measures the dashboard page and
``/api/v1/dashboard/status``: p50/p99 for one client and requests/s with 20
concurrent clients, next to a bare Flask endpoint served by gunicorn + gevent
in the same run.  Target: dashboard p99 <= 50 ms for one client.

    python bench/dashboard_dead_service.py [--requests 300] [--seconds 5] [--threads 20]

It creates and drops its own PostgreSQL database and uses Redis DB 14.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import suppress
from pathlib import Path

import psycopg2
import redis
import requests

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("MEDIANEST_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("MEDIANEST_BENCH_REDIS", "redis://127.0.0.1:6379/14")
PASSWORD = "bench-admin-password"
BARE_APP = """
from flask import Flask, jsonify
app = Flask(__name__)

@app.get("/ping")
def ping():
    return jsonify({"success": True, "data": {"status": "ok"}, "meta": {}})
"""


class Blackhole:
    """Accepts TCP connections and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                self.conns.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        self.sock.close()
        for conn in self.conns:
            conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with suppress(requests.RequestException):
            if requests.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def start(args: list[str], env: dict[str, str], log: Path, cwd: Path | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        args, env=env, cwd=cwd, stdout=open(log, "ab"), stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(proc: subprocess.Popen) -> None:
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, 15)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait(5)


def seed_history(url: str, services: list[str], interval: int = 30) -> None:
    """24 h of checks per service, as the periodic job would have written them."""
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        for service in services:
            cur.execute(
                "INSERT INTO service_checks (service, status, response_ms, error, checked_at) "
                "SELECT %s, CASE WHEN g %% 50 = 0 THEN 'offline' ELSE 'online' END, 20 + (g %% 17), NULL, "
                "(now() at time zone 'utc') - make_interval(secs => g * %s) FROM generate_series(1, %s) AS g",
                (service, interval, 24 * 3600 // interval),
            )
            cur.execute(
                "INSERT INTO service_statuses (service, plugin, display_name, status, critical, response_ms, "
                "checked_at, changed_at) "
                "VALUES (%s, %s, %s, 'online', false, 21, now() at time zone 'utc', now() at time zone 'utc') "
                "ON CONFLICT (service) DO NOTHING",
                (service, "core", service.title()),
            )
    conn.close()


def single_client(session: requests.Session, url: str, n: int) -> list[float]:
    for _ in range(20):
        session.get(url, timeout=30)
    times = []
    for _ in range(n):
        started = time.perf_counter()
        response = session.get(url, timeout=30)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code} {response.text[:200]}")
    return times


def under_load(make_session, url: str, threads: int, seconds: float) -> tuple[float, int]:
    done = [0] * threads
    errors = [0] * threads
    stop_at = time.monotonic() + seconds

    def run(i: int) -> None:
        session = make_session()
        while time.monotonic() < stop_at:
            try:
                ok = session.get(url, timeout=30).status_code == 200
            except requests.RequestException:
                ok = False
            if ok:
                done[i] += 1
            else:
                errors[i] += 1

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    started = time.monotonic()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(done) / (time.monotonic() - started), sum(errors)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=20)
    args = parser.parse_args()

    db_name = f"mn_bench_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(PG)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{db_name}"')
    database_url = PG.rsplit("/", 1)[0] + "/" + db_name
    redis.Redis.from_url(REDIS).flushdb()
    hole = Blackhole()
    work = Path(tempfile.mkdtemp(prefix="medianest-bench-"))
    (work / "bare_app.py").write_text(BARE_APP)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS,
        "MEDIANEST_DATA_DIR": str(work / "data"),
        "MEDIANEST_SECRET_KEY": "bench-secret-key-0123456789abcdef",
        "MEDIANEST_ADMIN_PASSWORD": PASSWORD,
        "MEDIANEST_LOG_FORMAT": "text",
        "MEDIANEST_LOG_LEVEL": "WARNING",
        "MEDIANEST_HEALTH_CHECK_INTERVAL": "5",
        "MEDIANEST_UPTIME_KUMA_URL": f"http://127.0.0.1:{hole.port}",
        "MEDIANEST_UPTIME_KUMA_SLUG": "household",
        # The benchmark measures the page, not the API budget of one user.
        "MEDIANEST_RATE_LIMIT_API": "1000000/minute",
    }
    procs: list[subprocess.Popen] = []
    try:
        subprocess.run(
            [sys.executable, "-c", "from medianest.cli import main; main()", "db", "upgrade"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        seed_history(database_url, ["plex", "overseerr", "uptime_kuma"])
        port, bare_port = free_port(), free_port()
        procs.append(
            start(
                [sys.executable, "-c", "from medianest.cli import main; main()", "run", "--port", str(port)],
                env,
                work / "server.log",
            )
        )
        procs.append(
            start(
                [
                    sys.executable,
                    "-c",
                    "from medianest.cli import main; main()",
                    "worker",
                    "--pool",
                    "threads",
                    "-c",
                    "4",
                    "-B",
                ],
                env,
                work / "worker.log",
            )
        )
        procs.append(
            start(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-k",
                    "gevent",
                    "-w",
                    "1",
                    "--bind",
                    f"127.0.0.1:{bare_port}",
                    "bare_app:app",
                ],
                {**env, "PYTHONPATH": str(work)},
                work / "bare.log",
                cwd=work,
            )
        )
        base = f"http://127.0.0.1:{port}"
        wait_up(base + "/healthz")
        wait_up(f"http://127.0.0.1:{bare_port}/ping")

        def signed_in() -> requests.Session:
            session = requests.Session()
            session.post(
                base + "/api/v1/auth/login", json={"username": "admin", "password": PASSWORD}, timeout=10
            ).raise_for_status()
            return session

        session = signed_in()

        def same_user() -> requests.Session:  # sign-in is rate limited: the load clients share one session cookie
            copy = requests.Session()
            copy.cookies.update(session.cookies)
            return copy

        # Wait until the worker has found Uptime Kuma dead (the blackhole costs it the read timeout).
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            statuses = {
                s["service"]: s for s in session.get(base + "/api/v1/dashboard/status", timeout=10).json()["data"]
            }
            if statuses.get("uptime_kuma", {}).get("status") == "offline" and statuses["uptime_kuma"]["error"]:
                break
            time.sleep(1)
        else:
            raise RuntimeError("the worker never recorded the blackholed service")
        print(f"uptime_kuma recorded as: {statuses['uptime_kuma']['status']} ({statuses['uptime_kuma']['error']})")

        bare = requests.Session()
        targets = [
            ("bare Flask /ping (gunicorn+gevent)", f"http://127.0.0.1:{bare_port}/ping", bare, requests.Session),
            ("dashboard page /", base + "/", session, same_user),
            ("/api/v1/dashboard/status", base + "/api/v1/dashboard/status", session, same_user),
        ]
        rows = []
        for label, url, client, factory in targets:
            times = single_client(client, url, args.requests)
            sessions = iter([factory() for _ in range(args.threads)])
            rps, errors = under_load(sessions.__next__, url, args.threads, args.seconds)
            rows.append((label, statistics.median(times), pct(times, 0.99), rps, errors))
        connections = len(hole.conns)

        bare_p50, bare_p99, bare_rps = rows[0][1], rows[0][2], rows[0][3]
        print()
        print(
            f"{'endpoint':38} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} "
            f"{'p50 x':>7} {'p99 x':>7} {'rps x':>7} {'errors':>6}"
        )
        for label, p50, p99, rps, errors in rows:
            print(
                f"{label:38} {p50:8.2f} {p99:8.2f} {rps:8.0f} {p50 / bare_p50:7.2f} {p99 / bare_p99:7.2f} "
                f"{rps / bare_rps:7.2f} {errors:6d}"
            )
        print()
        page_p99 = rows[1][2]
        print(
            f"one client, {args.requests} requests each; load: {args.threads} threads for {args.seconds:g} s; "
            f"service blackholed (the worker opened {connections} connection(s) to it, the web process none)."
        )
        print(f"target dashboard p99 <= 50 ms: {'met' if page_p99 <= 50 else 'NOT met'} ({page_p99:.1f} ms)")
        return 0
    finally:
        for proc in reversed(procs):
            stop(proc)
        hole.close()
        redis.Redis.from_url(REDIS).flushdb()
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        admin.close()


if __name__ == "__main__":
    sys.exit(main())
