"""Throughput of an authenticated, rate-limited JSON list endpoint against a bare Flask endpoint.

MediaNest: ``GET /api/v1/youtube/downloads`` with a personal API token (the
token is looked up, the user loaded, the shared API limit counted in Redis,
a full page of 25 downloads read from PostgreSQL and serialised), gunicorn + gevent from
``medianest/gunicorn_conf.py``.  Baseline: a bare Flask endpoint returning a
constant JSON list under gunicorn with the same configuration file, measured
in the same run.  Load: ``wrk -t2 -c50`` (Debian package ``wrk``; without it a
Python load generator with 50 threads, which saturates less and says so).
Rounds alternate between the two; medians are compared.  Target: >= 0.40.

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

from stack import Stack, production_stack  # noqa: E402

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


# A full page: the list reads and serialises rows, not an empty table.
PAGE_ROWS = 25
SEED = """
INSERT INTO youtube_downloads (user_id, url, format, status, title, folder, percent, attempts,
                               cancel_requested, created_at, files)
SELECT u.id, 'https://www.youtube.com/playlist?list=PLthroughput' || n, 'best', 'completed', 'Playlist ' || n,
       'Playlist ' || n, 100, 1, false, now() - (n || ' seconds')::interval,
       '[{"name": "01 - Clip.mp4", "size": 1048576, "title": "Clip", "index": 1}]'
FROM generate_series(1, %s) AS n, users AS u WHERE u.username = 'admin';
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
    load(ours_url, 1, auth)  # warm-up
    load(bare_url, 1, {})
    ours, empty, bare = [], [], []
    for _ in range(rounds):
        ours.append(load(ours_url, seconds, auth))
        empty.append(load(empty_url, seconds, auth))
        bare.append(load(bare_url, seconds, {}))
    result = {
        "tool": "wrk -t2 -c50" if load is wrk else "python threads x50 (install wrk for the real figure)",
        "medianest_rps": statistics.median(ours),
        "empty_rps": statistics.median(empty),
        "bare_rps": statistics.median(bare),
        "rounds": {
            "medianest": [round(x) for x in ours],
            "empty": [round(x) for x in empty],
            "bare": [round(x) for x in bare],
        },
    }
    result["ratio"] = result["medianest_rps"] / result["bare_rps"]
    result["empty_ratio"] = result["empty_rps"] / result["bare_rps"]
    return result


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
    print(f"bare Flask, same gunicorn config: {result['bare_rps']:.0f} req/s {result['rounds']['bare']}")
    print(
        f"ratio, page of {PAGE_ROWS}: {result['ratio']:.2f}; ratio, empty page: {result['empty_ratio']:.2f} "
        "(target >= 0.40)"
    )


if __name__ == "__main__":
    main()
