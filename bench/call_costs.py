"""Where a call's CPU goes: MediaNest's WSGI app called in-process, route by route, against bare Flask.

The throughput benchmark's worker is CPU-bound, so its ratio is the inverse
of the CPU a call costs; this shows that cost without gunicorn, gevent's HTTP
handling and the load generator around it, so the routes can be compared.
The app runs on the production settings (PostgreSQL, Redis, gevent with
psycopg2 made green, as in the web worker), with a personal API token and 25
downloads seeded.  Each figure is the best of several batches of CPU time
(``time.process_time``) per call; the baseline is a bare Flask JSON endpoint
called the same way in the same process.

    python bench/call_costs.py [--calls 3000] [--batches 5]
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import io  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import types  # noqa: E402
from pathlib import Path  # noqa: E402

from psycogreen.gevent import patch_psycopg  # noqa: E402

patch_psycopg()
sys.path.insert(0, str(Path(__file__).resolve().parent))

import api_throughput  # noqa: E402
from stack import BARE_APP, production_stack  # noqa: E402

ROUTES = [
    ("/healthz (the middleware every answer gets)", "/healthz", False),
    ("/api/v1/auth/session with a token (token, budget, envelope)", "/api/v1/auth/session", True),
    ("downloads list, no matching row", "/api/v1/youtube/downloads?status=queued", True),
    (f"downloads list, {api_throughput.PAGE_ROWS} rows", "/api/v1/youtube/downloads", True),
]


def environ(path: str, token: str | None) -> dict:
    route, _, query = path.partition("?")
    env = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": route,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "5000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:5000",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if token:
        env["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return env


def cost(app, path: str, token: str | None, calls: int, batches: int) -> float:
    """Best CPU microseconds per call over ``batches`` batches."""
    statuses: list[str] = []

    def start_response(status, _headers, _exc_info=None):
        statuses.append(status)

    def call():
        b"".join(app(environ(path, token), start_response))

    for _ in range(200):
        call()
    assert statuses[-1].startswith("200"), (path, statuses[-1])
    best = float("inf")
    for _ in range(batches):
        started = time.process_time()
        for _ in range(calls):
            call()
        best = min(best, (time.process_time() - started) / calls * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--batches", type=int, default=5)
    args = parser.parse_args()
    # The throughput benchmark's own baseline, as a module of its own (Flask finds its root by module).
    bare_module = sys.modules["bare_app"] = types.ModuleType("bare_app")
    bare_module.__file__ = __file__
    exec(compile(BARE_APP, "bare_app", "exec"), bare_module.__dict__)
    bare = bare_module.app
    with production_stack() as stack:
        api_throughput.seed(stack)
        token = stack.token()
        os.environ.update(stack.env)
        from medianest.app import create_app

        app = create_app()
        baseline = cost(bare, "/api/v1/bare", None, args.calls, args.batches)
        print(f"{'bare Flask (baseline)':62} {baseline:7.0f} us per call")
        for label, path, with_token in ROUTES:
            us = cost(app, path, token if with_token else None, args.calls, args.batches)
            print(f"{label:62} {us:7.0f} us per call = {us / baseline:5.1f} x bare")


if __name__ == "__main__":
    main()
