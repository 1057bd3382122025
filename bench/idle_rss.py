"""Idle resident memory of the web process (gunicorn arbiter + its gevent worker) and
of ``medianest worker`` (prefork, 2 children), each with every child process counted,
after start-up and a few requests, then 10 s of rest.

    python bench/idle_rss.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import Stack, production_stack, rss_kib  # noqa: E402


def measure(stack: Stack, rest: float = 10) -> dict:
    if stack.worker is None:
        stack.start_worker()
    http = stack.session()
    for path in ("/", "/api/v1/youtube/downloads", "/youtube/", "/api/v1/health"):
        http.get(stack.url + path, timeout=10)
    time.sleep(rest)
    return {"web_mib": rss_kib(stack.web.pid) / 1024, "worker_mib": rss_kib(stack.worker.pid) / 1024}


def main() -> None:
    with production_stack() as stack:
        result = measure(stack)
    print(
        f"idle RSS: web (gunicorn arbiter + gevent worker) {result['web_mib']:.0f} MiB, "
        f"worker (celery prefork x2) {result['worker_mib']:.0f} MiB"
    )


if __name__ == "__main__":
    main()
