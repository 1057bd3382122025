"""The shared JSON API budget: ``MEDIANEST_RATE_LIMIT_API`` requests per user (per address when anonymous).

Every ``/api/`` request counts against it except the routes marked
``rate_limit_exempt`` (webhook receivers); pages never do.  The per-route
limits (sign-in, media requests, downloads) stay with Flask-Limiter.

Why not Flask-Limiter's application limit: this check runs on every API call,
and there it cost three Redis round trips (the hit, then the window's count
and expiry for the headers) plus the extension's per-request bookkeeping,
about 1 ms of worker CPU (``docs/benchmarks.md``).  Here the same fixed
windows and the same ``X-RateLimit-*`` headers are kept with fewer trips.

Leases.  Even one round trip per call (a Lua script that counted and returned
the time left) cost about 100 µs of the web worker's CPU in redis-py, a fifth
of what an API call may cost.  So a process claims a *lease*, a block of hits
of one (who, window), from Redis at once (:data:`CLAIM_SCRIPT`: it grants at
most what is left of the budget, adds the grant to the window's total and
sets the window's expiry on its first claim) and spends it locally: most
calls make no Redis round trip at all.  The lease grows with what is left of
the budget (:func:`lease_size`): budgets under 32 are still claimed one hit
at a time, generous ones 64 at a time.

* Strict across processes: Redis holds the total *claimed* in the window and
  never grants past the limit, so however many processes share a Redis, no
  more than ``amount`` calls are admitted in one window.  The trade: hits
  claimed by one process but not spent when the window ends are lost, and
  while a process holds them another can be refused a little early (by at
  most what the others hold: a sixteenth of what was left when they claimed,
  at most 64 each).  Another process's ``X-RateLimit-Remaining`` also lags by
  what the others claimed since its own last claim.
* Exact in one process (the normal deployment): the count is what Redis says
  was claimed minus what this process has not spent yet, so ``Remaining``
  counts down by one per call and the (amount+1)-th call is refused.
* A spent budget is remembered until the window ends: the calls refused past
  it make no round trip either.
* gevent: the lock is never held across the Redis call, so two greenlets of
  one user may claim at once; both grants are merged into the one lease.
  Should the later claim's answer be merged first, the count of that one call
  runs ahead; the counts are exact again once both answers are in.

Redis unreachable: the budget is counted per process in memory (as
Flask-Limiter's in-memory fallback does), ``/api/v1/health`` says so, and
Redis is tried again every :data:`RETRY_AFTER` seconds.  A lease held when
Redis goes away is spent first (those hits are counted in Redis already): the
outage is noticed at the next claim.  Leases are dropped both ways, so once
Redis is back counting restarts from what it holds.
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
LEASE_CAP = 64
# Past this many leases, the ones whose window has ended are dropped.
LEASE_TABLE_SIZE = 10_000
# KEYS[1] the window's total claimed; ARGV[1] the window in ms, ARGV[2] hits
# wanted, ARGV[3] the limit.  Grants min(wanted, limit - claimed), 0 once
# spent; returns {granted, claimed now, ms left}.
CLAIM_SCRIPT = """
local count = tonumber(redis.call('GET', KEYS[1]) or 0)
local grant = math.min(tonumber(ARGV[2]), tonumber(ARGV[3]) - count)
if grant > 0 then
  count = redis.call('INCRBY', KEYS[1], grant)
else
  grant = 0
end
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  if left == -1 then
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
  end
  left = tonumber(ARGV[1])
end
return {grant, count, left}
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


def lease_size(amount: int, claimed: int) -> int:
    """How many hits to claim at once, ``claimed`` being the window's total as last seen.

    A sixteenth of what is left, 1 to :data:`LEASE_CAP`.  What a process holds
    is what another process may be refused early, and what is lost if it is
    not spent before the window ends: so a small or nearly spent budget is
    claimed hit by hit (under 32 left, one round trip per call as before)
    and no process sits on much of it, while a generous budget costs one
    round trip per 64 calls.
    """
    return max(1, min(LEASE_CAP, (amount - claimed) // 16))


class _Lease:
    """Hits of one (who, window) claimed from Redis: ``claimed`` is the window's
    total Redis reported (every process's), ``unspent`` what this process still holds."""

    __slots__ = ("amount", "claimed", "ends", "unspent")

    def __init__(self, amount: int, ends: float) -> None:
        self.amount = amount
        self.ends = ends  # monotonic; never later than the Redis key's expiry
        self.claimed = 0
        self.unspent = 0


class Budget:
    """Counts hits per key and window, in Redis (by leases) when it answers, else in this process."""

    def __init__(self, redis_url: str | None) -> None:
        self.redis_url = redis_url
        self._script: Any = None
        self._dead_since: float | None = None
        self._memory: dict[str, tuple[int, float]] = {}
        self._leases: dict[tuple[str, int], _Lease] = {}
        self._lock = threading.Lock()

    @property
    def degraded(self) -> bool:
        return self.redis_url is not None and self._dead_since is not None

    def hit(self, who: str, limit: Limit) -> tuple[int, float]:
        """Count one hit; returns (hits in this window, seconds until it ends)."""
        if self.redis_url and (self._dead_since is None or time.monotonic() - self._dead_since > RETRY_AFTER):
            answer = self._leased_hit(who, limit)
            if answer is not None:
                return answer
        return self._memory_hit(who, limit)

    def reset(self) -> None:
        """Forget every count (tests, and ``flask medianest`` maintenance)."""
        with self._lock:
            self._memory.clear()
            self._leases.clear()
        if self.redis_url:
            from medianest.redis_connection import redis_client

            client = redis_client(timeout=0.5)
            keys = list(client.scan_iter(match=KEY.format(who="*", window="*"), count=1000))
            if keys:
                client.delete(*keys)

    def _redis_script(self) -> Any:
        if self._script is None:
            from medianest.redis_connection import redis_client

            self._script = redis_client(timeout=0.5).register_script(CLAIM_SCRIPT)
        return self._script

    def _leased_hit(self, who: str, limit: Limit) -> tuple[int, float] | None:
        """The hit spent from a lease, claiming one first when needed; ``None`` when Redis fails."""
        key = (who, limit.seconds)
        started = time.monotonic()
        with self._lock:
            lease = self._leases.get(key)
            claimed = 0
            if lease is not None and lease.ends > started and lease.amount == limit.amount:
                if lease.unspent:
                    lease.unspent -= 1
                    return lease.claimed - lease.unspent, lease.ends - started
                if lease.claimed >= limit.amount:  # spent: refused without asking Redis again
                    return lease.claimed + 1, lease.ends - started
                claimed = lease.claimed
        # No lock held here: the call yields to other greenlets, which may claim for the same key.
        try:
            reply = self._redis_script()(
                keys=[KEY.format(who=who, window=limit.seconds)],
                args=[limit.seconds * 1000, lease_size(limit.amount, claimed), limit.amount],
            )
            grant, count, left_ms = (int(value) for value in reply)
        except Exception as exc:
            if self._dead_since is None:
                log.warning("API budget counted in memory: Redis unreachable (%s)", exc.__class__.__name__)
            self._dead_since = time.monotonic()
            with self._lock:
                self._leases.clear()
            return None
        if self._dead_since is not None:
            log.warning("API budget counted in Redis again")
            self._dead_since = None
            with self._lock:
                self._memory.clear()
                self._leases.clear()
        # Measured from before the call, so the lease ends no later than the window in Redis.
        return self._merge(key, limit, grant, count, started + left_ms / 1000)

    def _merge(self, key: tuple[str, int], limit: Limit, grant: int, count: int, ends: float) -> tuple[int, float]:
        """Add a claim's grant to the lease of its window and spend this hit from it."""
        now = time.monotonic()
        half = limit.seconds / 2  # replies of one window end within a round trip of each other
        with self._lock:
            lease = self._leases.get(key)
            if lease is None or lease.amount != limit.amount or lease.ends <= now or ends > lease.ends + half:
                # No lease in this window yet (or the one held is over, or Redis was reset): this claim starts one.
                lease = None
                if ends > now:
                    lease = _Lease(limit.amount, ends)
                    if len(self._leases) >= LEASE_TABLE_SIZE:
                        self._leases = {k: v for k, v in self._leases.items() if v.ends > now}
                    self._leases[key] = lease
            elif ends < lease.ends - half:
                lease = None  # a claim from a window that another claim has already replaced
            if lease is None:
                # Its window is over: this hit alone is answered from it, the rest of the grant is lost.
                return (count - grant + 1 if grant else count + 1), max(0.0, ends - now)
            lease.claimed = max(lease.claimed, count)
            lease.unspent += grant
            if lease.unspent:
                lease.unspent -= 1
                return lease.claimed - lease.unspent, lease.ends - now
            return max(lease.claimed, limit.amount) + 1, lease.ends - now

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
    from medianest.extensions import rate_limit_key as rate_limit_identity

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
