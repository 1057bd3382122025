"""An open-loop HTTP load generator: requests sent at fixed times, latency from the time each was due.

A closed-loop client (wrk, or threads sending as fast as answers come back)
sends the next request only when the previous one has answered, so a server
that stalls is simply asked less often and its stall hides in fewer samples
("coordinated omission").  Here request ``k`` is due at ``start + k / rate``
whatever happened before; a request that goes out late because its
connection was still busy counts the wait too.  ``wrk2`` does this, but it is
not packaged in Debian, hence this small client: ``connections`` threads, each
with one kept-alive ``http.client`` connection (as a browser or htmx keeps
one), taking every ``connections``-th request of the schedule.

    python bench/openloop.py URL [--rate 100] [--connections 20] [--seconds 30] [-H "Name: value"]
"""

from __future__ import annotations

import argparse
import http.client
import threading
import time
from urllib.parse import urlsplit

from stack import percentile


def open_loop(
    url: str,
    headers: dict[str, str] | None = None,
    rate: float = 100,
    connections: int = 20,
    seconds: float = 30,
) -> dict:
    """Send ``rate`` requests per second over ``connections`` kept-alive connections for ``seconds``.

    Returns latencies in ms from each request's due time to its full answer
    (p50, p99, max), the number sent, and the number that were not a 200.
    """
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = dict(headers or {})
    total = int(rate * seconds)
    latencies: list[list[float]] = [[] for _ in range(connections)]
    failures = [0] * connections
    start = time.perf_counter() + 0.5  # every thread is up before the first request is due

    def connection_loop(index: int) -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        for k in range(index, total, connections):
            due = start + k / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            try:
                connection.request("GET", target, headers=headers)
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                connection.close()  # reconnects on the next request
                ok = False
            latencies[index].append((time.perf_counter() - due) * 1000)
            failures[index] += not ok
        connection.close()

    threads = [threading.Thread(target=connection_loop, args=(i,), daemon=True) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    values = [value for per_connection in latencies for value in per_connection]
    return {
        "sent": len(values),
        "failed": sum(failures),
        "p50": percentile(values, 0.50),
        "p99": percentile(values, 0.99),
        "max": max(values),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("-H", "--header", action="append", default=[], help='"Name: value", repeatable')
    args = parser.parse_args()
    headers = dict(h.split(":", 1) for h in args.header)
    result = open_loop(
        args.url, {k.strip(): v.strip() for k, v in headers.items()}, args.rate, args.connections, args.seconds
    )
    print(
        f"{result['sent']} requests ({result['failed']} not 200) at {args.rate:g}/s over {args.connections} "
        f"connections: p50 {result['p50']:.1f} ms, p99 {result['p99']:.1f} ms, max {result['max']:.1f} ms"
    )


if __name__ == "__main__":
    main()
