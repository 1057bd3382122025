"""Throughput of an authenticated, rate-limited JSON list endpoint against a bare Flask endpoint.

MediaNest: ``GET /api/v1/youtube/downloads`` with a personal API token (the
token is looked up, the user loaded, the shared API limit counted in Redis,
a full page of 25 downloads read from PostgreSQL and serialised), gunicorn + gevent from
``medianest/gunicorn_conf.py``.  Baseline: a bare Flask endpoint returning a
constant JSON list under gunicorn with the same configuration file, measured
in the same run.  Load: ``wrk -t2 -c50`` (Debian package ``wrk``; without it a
Python load generator with 50 threads, which saturates less and says so).
Rounds alternate between them; medians are compared.  Target: >= 0.40.

Floors, measured in the same rounds: what the least a Flask endpoint on this
stack does to answer the same question costs, with no token, no limit and
none of MediaNest's middleware: the same gunicorn configuration, SQLAlchemy
Core on psycopg2 (pooled, green under gevent), the same 25 rows (or, for the
empty page, the same query matching none) encoded by orjson.  A ratio above
the floor's is out of reach for any endpoint that reads those rows; the gap
between MediaNest and its floor is what authentication, the limit and the
middleware cost.

    python bench/api_throughput.py [--seconds 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import Stack, production_stack, wait_http  # noqa: E402

CONNECTIONS = 50


def wrk(url: str, seconds: float, headers: dict[str, str]) -> float:
    args = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "--latency"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"non-2xx answers under load:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])


def python_load(url: str, seconds: float, headers: dict[str, str]) -> float:
    count = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run() -> None:
        http = requests.Session()
        http.headers.update(headers)
        done = 0
        while time.monotonic() < deadline:
            response = http.get(url, timeout=30)
            if response.status_code != 200:
                raise RuntimeError(f"{response.status_code}: {response.text[:200]}")
            done += 1
        with lock:
            count[0] += done

    threads = [threading.Thread(target=run) for _ in range(CONNECTIONS)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return count[0] / (time.monotonic() - started)


# A full page: the list reads and serialises rows, not an empty table.  Their
# owner has the folder name a first download stores, as every owner of a
# download does.
PAGE_ROWS = 25

FLOOR_APP = """
import os

import orjson
from flask import Flask, Response
from sqlalchemy import create_engine, text

app = Flask(__name__)
engine = create_engine(os.environ["DATABASE_URL"], pool_size=20, max_overflow=10)
PAGE = text("SELECT * FROM youtube_downloads WHERE status = :status ORDER BY id DESC LIMIT 26")


@app.get("/api/v1/floor/<status>")
def floor(status):
    with engine.connect() as conn:
        rows = conn.execute(PAGE, {"status": status}).all()
    data = []
    for row in rows[:25]:
        item = dict(zip(row._fields, row))
        for name in ("created_at", "started_at", "finished_at", "heartbeat_at"):
            item[name] = item[name].isoformat() + "Z" if item[name] else None
        data.append(item)
    body = {"success": True, "data": data, "meta": {"pagination": {"page": 1, "per_page": 25, "total": len(data)}}}
    return Response(orjson.dumps(body), mimetype="application/json")
"""
SEED = """
INSERT INTO youtube_downloads (user_id, url, format, status, title, folder, percent, attempts,
                               cancel_requested, created_at, files)
SELECT u.id, 'https://www.youtube.com/playlist?list=PLthroughput' || n, 'best', 'completed', 'Playlist ' || n,
       'Playlist ' || n, 100, 1, false, now() - (n || ' seconds')::interval,
       '[{"name": "01 - Clip.mp4", "size": 1048576, "title": "Clip", "index": 1}]'
FROM generate_series(1, %s) AS n, users AS u WHERE u.username = 'admin';
INSERT INTO youtube_user_folders (user_id, name, created_at)
SELECT id, 'administrator', now() FROM users WHERE username = 'admin';
"""


def seed(stack: Stack) -> None:
    import psycopg2

    conn = psycopg2.connect(stack.database_url)
    with conn, conn.cursor() as cur:
        cur.execute(SEED, (PAGE_ROWS,))
    conn.close()


def measure(stack: Stack, seconds: float = 5, rounds: int = 3) -> dict:
    load = wrk if shutil.which("wrk") else python_load
    seed(stack)
    token = stack.token()
    ours_url = stack.url + "/api/v1/youtube/downloads"
    auth = {"Authorization": f"Bearer {token}"}
    check = requests.get(ours_url, headers=auth, timeout=10)
    assert check.status_code == 200 and "X-RateLimit-Limit" in check.headers, (check.status_code, check.headers)
    assert len(check.json()["data"]) == PAGE_ROWS, check.text[:300]
    empty_url = ours_url + "?status=queued"  # the same route and query, no row matches
    assert requests.get(empty_url, headers=auth, timeout=10).json()["data"] == []
    bare_url = stack.bare()
    floor_url = floor_server(stack)
    assert len(requests.get(floor_url + "completed", timeout=10).json()["data"]) == PAGE_ROWS
    urls = {
        "medianest": (ours_url, auth),
        "empty": (empty_url, auth),
        "floor": (floor_url + "completed", {}),
        "floor_empty": (floor_url + "queued", {}),
        "bare": (bare_url, {}),
    }
    for url, headers in urls.values():
        load(url, 1, headers)  # warm-up
    measured: dict[str, list[float]] = {name: [] for name in urls}
    for _ in range(rounds):
        for name, (url, headers) in urls.items():
            measured[name].append(load(url, seconds, headers))
    rps = {name: statistics.median(values) for name, values in measured.items()}
    result = {
        "tool": "wrk -t2 -c50" if load is wrk else "python threads x50 (install wrk for the real figure)",
        "medianest_rps": rps["medianest"],
        "empty_rps": rps["empty"],
        "floor_rps": rps["floor"],
        "floor_empty_rps": rps["floor_empty"],
        "bare_rps": rps["bare"],
        "rounds": {name: [round(x) for x in values] for name, values in measured.items()},
    }
    result["ratio"] = rps["medianest"] / rps["bare"]
    result["empty_ratio"] = rps["empty"] / rps["bare"]
    result["floor_ratio"] = rps["floor"] / rps["bare"]
    result["floor_empty_ratio"] = rps["floor_empty"] / rps["bare"]
    return result


def floor_server(stack: Stack) -> str:
    """The floor endpoint under gunicorn with MediaNest's configuration file; its URL without the status."""
    database_url = stack.database_url.replace("postgresql://", "postgresql+psycopg2://", 1)
    port = stack.baseline_server("floor_app", FLOOR_APP, DATABASE_URL=database_url)
    url = f"http://127.0.0.1:{port}/api/v1/floor/"
    wait_http(url + "queued")
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with production_stack() as stack:
        result = measure(stack, args.seconds, args.rounds)
    print(f"load: {result['tool']}, {args.rounds} rounds of {args.seconds:g} s each, alternating")
    print(
        f"MediaNest GET /api/v1/youtube/downloads, {PAGE_ROWS} rows (token, rate limit in Redis, PostgreSQL): "
        f"{result['medianest_rps']:.0f} req/s {result['rounds']['medianest']}"
    )
    print(
        f"the same with no matching row (?status=queued): {result['empty_rps']:.0f} req/s {result['rounds']['empty']}"
    )
    print(
        f"floor (no token, no limit, no middleware), {PAGE_ROWS} rows: {result['floor_rps']:.0f} req/s "
        f"{result['rounds']['floor']}; no matching row: {result['floor_empty_rps']:.0f} req/s "
        f"{result['rounds']['floor_empty']}"
    )
    print(f"bare Flask, same gunicorn config: {result['bare_rps']:.0f} req/s {result['rounds']['bare']}")
    print(
        f"ratio, page of {PAGE_ROWS}: {result['ratio']:.2f} (floor {result['floor_ratio']:.2f}); "
        f"ratio, empty page: {result['empty_ratio']:.2f} (floor {result['floor_empty_ratio']:.2f}) (target >= 0.40)"
    )
    print(
        f"MediaNest / floor: page of {PAGE_ROWS} {result['medianest_rps'] / result['floor_rps']:.2f}, "
        f"empty page {result['empty_rps'] / result['floor_empty_rps']:.2f}"
    )


if __name__ == "__main__":
    main()
