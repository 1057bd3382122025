"""The shared JSON API budget: ``MEDIANEST_RATE_LIMIT_API`` requests per user (per address when anonymous).

Every ``/api/`` request counts against it except the routes marked
``rate_limit_exempt`` (webhook receivers); pages never do.  The per-route
limits (sign-in, media requests, downloads) stay with Flask-Limiter.

Why not Flask-Limiter's application limit: this check runs on every API call,
and there it cost three Redis round trips (the hit, then the window's count
and expiry for the headers) plus the extension's per-request bookkeeping,
about 1 ms of worker CPU (``docs/benchmarks.md``).  Here one Lua script
counts, sets the window's expiry on the first hit and returns the count with
the time left: one round trip, the same fixed-window semantics, the same
``X-RateLimit-*`` headers.

Redis unreachable: the budget is counted per process in memory (as
Flask-Limiter's in-memory fallback does), ``/api/v1/health`` says so, and
Redis is tried again every :data:`RETRY_AFTER` seconds.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from flask import Flask, current_app, g, request
from flask.wrappers import Response

from medianest.api.envelope import ApiError

log = logging.getLogger("medianest.ratelimit")

KEY = "medianest-budget:{who}:{window}"
RETRY_AFTER = 5.0
# KEYS[1] the counter; ARGV[1] the window in ms.  Returns {count, ms left}.
COUNT_SCRIPT = """
local n = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {n, left}
"""


@dataclass(frozen=True)
class Limit:
    amount: int
    seconds: int
    text: str


@lru_cache(maxsize=16)
def parse_limit(text: str) -> Limit:
    """``"100/minute"`` -> Limit(100, 60); the syntax is the ``limits`` library's (as everywhere else)."""
    from limits import parse

    item = parse(text)
    return Limit(item.amount, item.get_expiry(), str(item))


class Budget:
    """Counts hits per key and window, in Redis when it answers, else in this process."""

    def __init__(self, redis_url: str | None) -> None:
        self.redis_url = redis_url
        self._script: Any = None
        self._dead_since: float | None = None
        self._memory: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    @property
    def degraded(self) -> bool:
        return self.redis_url is not None and self._dead_since is not None

    def hit(self, who: str, limit: Limit) -> tuple[int, float]:
        """Count one hit; returns (hits in this window, seconds until it ends)."""
        if self.redis_url and (self._dead_since is None or time.monotonic() - self._dead_since > RETRY_AFTER):
            try:
                count, left_ms = self._redis_script()(
                    keys=[KEY.format(who=who, window=limit.seconds)], args=[limit.seconds * 1000]
                )
            except Exception as exc:
                if self._dead_since is None:
                    log.warning("API budget counted in memory: Redis unreachable (%s)", exc.__class__.__name__)
                self._dead_since = time.monotonic()
            else:
                if self._dead_since is not None:
                    log.warning("API budget counted in Redis again")
                    self._dead_since = None
                    self._memory.clear()
                return int(count), int(left_ms) / 1000
        return self._memory_hit(who, limit)

    def reset(self) -> None:
        """Forget every count (tests, and ``flask medianest`` maintenance)."""
        with self._lock:
            self._memory.clear()
        if self.redis_url:
            from medianest.redis_connection import redis_client

            client = redis_client(timeout=0.5)
            keys = list(client.scan_iter(match=KEY.format(who="*", window="*"), count=1000))
            if keys:
                client.delete(*keys)

    def _redis_script(self) -> Any:
        if self._script is None:
            from medianest.redis_connection import redis_client

            self._script = redis_client(timeout=0.5).register_script(COUNT_SCRIPT)
        return self._script

    def _memory_hit(self, who: str, limit: Limit) -> tuple[int, float]:
        now = time.monotonic()
        key = f"{who}:{limit.seconds}"
        with self._lock:
            count, ends = self._memory.get(key, (0, 0.0))
            if now >= ends:
                count, ends = 0, now + limit.seconds
                if len(self._memory) > 100_000:
                    self._memory = {k: v for k, v in self._memory.items() if v[1] > now}
            self._memory[key] = (count + 1, ends)
        return count + 1, ends - now


def reset_all(app: Flask) -> None:
    """Every rate-limit count of ``app``: Flask-Limiter's per-route windows and the API budget."""
    from medianest.extensions import limiter

    with app.app_context():
        limiter.reset()
        app.extensions["medianest.api_budget"].reset()


def _counted(app: Flask) -> bool:
    if not request.path.startswith("/api/"):
        return False
    view = app.view_functions.get(request.endpoint or "")
    return not getattr(view, "medianest_rate_limit_exempt", False)


def init_app(app: Flask) -> None:
    from medianest.access import rate_limit_identity

    budget = Budget(app.config["MEDIANEST"].redis_url)
    app.extensions["medianest.api_budget"] = budget

    @app.before_request
    def _count_api_call() -> None:
        if not app.config.get("RATELIMIT_ENABLED", True) or not _counted(app):
            return
        limit = parse_limit(current_app.config["MEDIANEST"].rate_limit_api)
        count, left = budget.hit(rate_limit_identity(), limit)
        reset_in = max(1, math.ceil(left))
        g.medianest_budget = (limit, count, reset_in)
        if count > limit.amount:
            raise ApiError(
                "RATE_LIMITED",
                f"Too many requests: the limit is {limit.text}. Try again in {reset_in} s.",
                details={"limit": limit.text, "reset_in": reset_in},
                headers={"Retry-After": str(reset_in)},
            )

    @app.after_request
    def _budget_headers(response: Response) -> Response:
        state = g.get("medianest_budget")
        if state is not None:
            limit, count, reset_in = state
            response.headers["X-RateLimit-Limit"] = str(limit.amount)
            response.headers["X-RateLimit-Remaining"] = str(max(0, limit.amount - count))
            response.headers["X-RateLimit-Reset"] = str(int(time.time()) + reset_in)
        return response
