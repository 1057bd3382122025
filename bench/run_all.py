"""Every benchmark in one run, one table of figures and ratios measured in that run.

    python bench/run_all.py [--quick]

Needs this machine's PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379),
ffmpeg for the media feed, and preferably ``wrk`` (``apt-get install wrk``).
About 10-12 minutes on a 2-core machine; ``--quick`` (shorter rounds) took
320 s on 2026-12-04 (load average 0.7-3.2).  The household budgets alone
(8-10, ``python bench/household_budgets.py``) take about 130 s with
``--seconds 10`` (as ``--quick`` runs them) and 190 s with their 30 s rounds.

1. throughput: authenticated, rate-limited JSON list vs bare Flask, same gunicorn config (bench/api_throughput.py)
2. idle RSS of the web process and of the worker (bench/idle_rss.py)
3. list endpoints over 100 000 rows, p99 for one client (bench/list_100k.py)
4. dashboard p99 for one client with a service blackholed (bench/dashboard_dead_service.py)
5. a playlist through MediaNest vs the ``yt-dlp`` command (bench/youtube_vs_cli.py)
6. 1000 Socket.IO clients, an event emitted through Redis, vs a bare python-socketio server (bench/socketio_fanout.py;
   its clients run from a virtualenv of their own, bench/.venv-fanout, made on first use)
7. dashboard p99 for one client with a card whose service hangs 30 s, vs the same dashboard without that card
   (bench/dashboard_slow_card.py)
8-10. a household's budgets in both running modes: p99 at 100 requests/s over 20 connections (open loop),
   PSS after a download, embedded start-up (bench/household_budgets.py)

Benchmarks 1-3 share one production stack (gunicorn + gevent, PostgreSQL,
Redis, ``medianest worker``); 4, 5 and 7 start their own, as subprocesses; 8-10
start a production stack and an embedded ``medianest run`` of their own.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import api_throughput  # noqa: E402
import household_budgets  # noqa: E402
import idle_rss  # noqa: E402
import list_100k  # noqa: E402
from stack import production_stack  # noqa: E402

FLOOR_GUARD = 0.50  # MediaNest / its floor; the ratio to bare Flask (0.40) is for information only


def run_script(name: str, *args: str, timeout: float = 400) -> str:
    done = subprocess.run([sys.executable, str(HERE / name), *args], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{done.stdout[-2000:]}\n{_without_noise(done.stderr)[-3000:]}")
    return done.stdout


def _without_noise(stderr: str) -> str:
    """stderr without the "Exception ignored in ..." blocks that client libraries print at exit (they hid the error)."""
    kept, skipping = [], False
    for line in stderr.splitlines():
        if line.startswith(("Exception ignored in", "Unclosed client session", "client_session:")):
            skipping = not line.startswith(("Unclosed", "client_session"))
            continue
        if skipping:
            if line.startswith((" ", "Traceback")):
                continue
            skipping = False
            continue  # the block's own exception line
        kept.append(line)
    return "\n".join(kept)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="shorter rounds (less stable figures)")
    args = parser.parse_args()
    seconds, rounds, requests_each = (3, 2, 100) if args.quick else (5, 3, 200)
    rows: list[tuple[str, str, str, str]] = []  # what, figure, target, verdict
    started = time.monotonic()

    with production_stack() as stack:
        stack.start_worker()
        memory = idle_rss.measure(stack)
        throughput = api_throughput.measure(stack, seconds, rounds)
        lists = list_100k.measure(stack, requests_each)
    rows.append(
        (
            "1. GET /api/v1/youtube/downloads, page of 25 (token, limit, PostgreSQL) vs bare Flask "
            f"[{throughput['tool']}]",
            f"{throughput['medianest_rps']:.0f} / {throughput['bare_rps']:.0f} req/s = {throughput['ratio']:.2f}",
            "-",
            "-",
        )
    )
    rows.append(
        (
            "1. the same, no matching row (?status=queued)",
            f"{throughput['empty_rps']:.0f} / {throughput['bare_rps']:.0f} req/s = {throughput['empty_ratio']:.2f}",
            "-",
            "-",
        )
    )
    rows.append(
        (
            "1. floor: bare Flask reading the same 25 rows / the same empty query (SQLAlchemy Core; "
            "no token, limit or middleware) vs bare Flask",
            f"{throughput['floor_ratio']:.2f} / {throughput['floor_empty_ratio']:.2f}",
            "-",
            "-",
        )
    )
    rows.append(
        (
            "1. MediaNest / floor: page of 25, empty page",
            f"{throughput['medianest_rps'] / throughput['floor_rps']:.2f}, "
            f"{throughput['empty_rps'] / throughput['floor_empty_rps']:.2f}",
            ">= 0.50 each",
            "met"
            if min(
                throughput["medianest_rps"] / throughput["floor_rps"],
                throughput["empty_rps"] / throughput["floor_empty_rps"],
            )
            >= FLOOR_GUARD
            else "NOT met",
        )
    )
    rows.append(("2. idle RSS, web (gunicorn arbiter + gevent worker)", f"{memory['web_mib']:.0f} MiB", "-", "-"))
    rows.append(("2. idle RSS, worker (celery prefork x2)", f"{memory['worker_mib']:.0f} MiB", "-", "-"))
    for label, figures in lists.items():
        figure = f"p50 {figures['p50']:.1f} ms, p99 {figures['p99']:.1f} ms"
        if "?page=" in label:  # deep offset paging, kept for old clients: for information (next_before is the way)
            rows.append((f"3. {label}", figure, "(offset)", "-"))
            continue
        rows.append((f"3. {label}", figure, "p99 <= 30 ms", "met" if figures["p99"] <= 30 else "NOT met"))

    out = run_script("dashboard_dead_service.py", "--requests", str(requests_each * 3 // 2))
    page_p99 = float(re.search(r"target dashboard p99 <= 50 ms: .*\(([\d.]+) ms\)", out)[1])
    rows.append(
        (
            "4. dashboard page, one client, one service blackholed",
            f"p99 {page_p99:.1f} ms",
            "p99 <= 50 ms",
            "met" if page_p99 <= 50 else "NOT met",
        )
    )

    out = run_script("youtube_vs_cli.py", "--runs", "2" if args.quick else "3")
    ratio = float(re.search(r"ratio MediaNest / yt-dlp: ([\d.]+)", out)[1])
    medians = re.findall(r"median ([\d.]+) s", out)
    rows.append(
        (
            "5. playlist download: MediaNest (submit -> completed event) / yt-dlp command",
            f"{medians[0]} s / {medians[1]} s = {ratio:.2f}",
            "<= 1.00",
            "met" if ratio <= 1.0 else "NOT met",
        )
    )

    out = run_script("socketio_fanout.py", "--clients", "1000", "--rounds", "3" if args.quick else "5")
    fan = re.search(r"ratio MediaNest / bare p99: ([\d.]+)", out)
    median_rounds = re.search(r"ratio of the median per-round p99s: ([\d.]+)", out)[1]
    p99s = re.findall(r"^(?:bare python-socketio|MediaNest \(household room\))\s+[\d.]+\s+([\d.]+)", out, flags=re.M)
    rows.append(
        (
            "6. 1000 Socket.IO clients each, event emitted through Redis, rounds alternating: "
            "MediaNest / bare python-socketio",
            f"p99 {p99s[1]} ms / {p99s[0]} ms = {float(fan[1]):.2f} (median round {median_rounds})",
            "<= 1.2",
            "met" if float(fan[1]) <= 1.2 else "NOT met",
        )
    )

    out = run_script("dashboard_slow_card.py", "--requests", str(requests_each * 3 // 2))
    slow_ratio = float(re.search(r"ratio with / without the slow card, p99: ([\d.]+)", out)[1])
    slow_round = re.search(r"ratio of the median per-round p99s: ([\d.]+)", out)[1]
    slow_p99s = re.findall(
        r"^(?:without the slow card|with a card that sleeps 30 s)\s+[\d.]+\s+([\d.]+)", out, flags=re.M
    )
    rows.append(
        (
            "7. dashboard page, one client: with a card that sleeps 30 s / without it",
            f"p99 {slow_p99s[1]} ms / {slow_p99s[0]} ms = {slow_ratio:.2f} (median round {slow_round})",
            "<= 1.2",
            "met" if slow_ratio <= 1.2 else "NOT met",
        )
    )
    rows += household_budgets.rows(household_budgets.measure(seconds=10 if args.quick else 30))

    width = max(len(r[0]) for r in rows)
    print(f"\n{'benchmark':{width}}  {'figure (MediaNest / baseline = ratio)':44}  {'target':13}  verdict")
    for what, figure, target, verdict in rows:
        print(f"{what:{width}}  {figure:44}  {target:13}  {verdict}")
    print(f"\nwhole run: {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
