"""List endpoints over 100 000 rows: p50/p99 for one client.

Seeds 100 000 downloads (spread over the admin and nine other users) and
100 000 audit events with SQL, then times, one request at a time:
``GET /api/v1/youtube/downloads`` (first page, and 1000 pages deep both by
``?page=1000`` and by the keyset cursor ``?before=<id>`` a client following
``next_before`` sends there, as the admin who sees everything), and
``GET /api/v1/admin/audit``.  Target: p99 <= 30 ms each.

    python bench/list_100k.py [--requests 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import psycopg2
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import Stack, percentile, production_stack  # noqa: E402

ROWS = 100_000

SEED = """
INSERT INTO users (username, display_name, role, status, is_local, session_token, created_at)
SELECT 'bench' || n, 'Bench ' || n, 'user', 'active', false, md5(random()::text), now()
FROM generate_series(1, 9) AS n;

INSERT INTO youtube_downloads (user_id, url, format, status, title, folder, percent, attempts,
                               cancel_requested, created_at, files)
SELECT u.id, 'https://www.youtube.com/playlist?list=PL' || n, 'best',
       (ARRAY['completed','failed','cancelled','completed'])[1 + n % 4], 'Playlist ' || n, 'Playlist ' || n,
       100, 1, false, now() - (n || ' seconds')::interval, '[]'
FROM generate_series(1, {rows}) AS n
JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM users) AS u ON u.k = n % 10;

INSERT INTO audit_events (at, actor_id, actor_name, action, target, details)
SELECT now() - (n || ' seconds')::interval, 1, 'admin', 'user.update', 'user:' || (n % 50), '{}'
FROM generate_series(1, {rows}) AS n;
ANALYZE;
"""


def seed(stack: Stack) -> None:
    conn = psycopg2.connect(stack.database_url)
    with conn, conn.cursor() as cur:
        cur.execute(SEED.replace("{rows}", str(ROWS)))
    conn.close()


def timed(http: requests.Session, url: str, n: int) -> list[float]:
    for _ in range(10):
        http.get(url, timeout=30)
    times = []
    for _ in range(n):
        started = time.perf_counter()
        response = http.get(url, timeout=30)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text[:300]
    return times


def measure(stack: Stack, requests_each: int = 200) -> dict:
    seed(stack)
    admin = stack.session()
    base = stack.url + "/api/v1/youtube/downloads"
    pagination = admin.get(base, timeout=30).json()["meta"]["pagination"]
    # Past 10 000 matching rows the count stops ("total_exact": false): the rows are there.
    assert pagination["total"] >= ROWS or pagination.get("total_exact") is False, pagination
    per_page = pagination["per_page"]
    conn = psycopg2.connect(stack.database_url)
    with conn, conn.cursor() as cur:  # the last id of page 999: what next_before says there
        cur.execute("SELECT id FROM youtube_downloads ORDER BY id DESC OFFSET %s LIMIT 1", (999 * per_page - 1,))
        cursor = cur.fetchone()[0]
    conn.close()
    by_page = admin.get(base + "?page=1000", timeout=30).json()["data"]
    by_cursor = admin.get(base + f"?before={cursor}", timeout=30).json()["data"]
    assert [d["id"] for d in by_page] == [d["id"] for d in by_cursor], "the cursor must land on page 1000"
    targets = {
        "downloads, page 1 (admin: all 100k)": base,
        "downloads, page 1000 by ?page= (admin)": base + "?page=1000",
        "downloads, page 1000 by ?before= (admin)": base + f"?before={cursor}",
        "audit log, page 1 (100k events)": stack.url + "/api/v1/admin/audit",
    }
    rows = {}
    for label, url in targets.items():
        times = timed(admin, url, requests_each)
        rows[label] = {"p50": statistics.median(times), "p99": percentile(times, 0.99)}
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with production_stack() as stack:
        rows = measure(stack, args.requests)
    for label, row in rows.items():
        print(f"{label:40} p50 {row['p50']:6.1f} ms  p99 {row['p99']:6.1f} ms  (target p99 <= 30 ms)")


if __name__ == "__main__":
    main()
