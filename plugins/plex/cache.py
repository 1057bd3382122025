"""A short-lived cache of what Plex answered, shared by every MediaNest process.

With Redis (production) the web processes and the workers share one cache, so
a worker that puts a download into Plex clears it for everybody; embedded, it
lives in the one process.  Clearing bumps a generation number instead of
deleting keys.  A broken Redis only means no caching, never an error page.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from flask import current_app

from medianest.plugins.settings import redis_url

log = logging.getLogger("medianest.plex")

PREFIX = "medianest:plex:cache"
MEMORY_ENTRIES = 1024


class MemoryStore:
    def __init__(self) -> None:
        self._items: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._generation = 0
        self._lock = threading.Lock()

    def generation(self) -> int:
        return self._generation

    def bump(self) -> None:
        with self._lock:
            self._generation += 1
            self._items.clear()

    def get(self, key: str) -> str | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            expires, value = found
            if expires < time.monotonic():
                del self._items[key]
                return None
            return value

    def set(self, key: str, value: str, ttl: float) -> None:
        with self._lock:
            self._items[key] = (time.monotonic() + ttl, value)
            self._items.move_to_end(key)
            while len(self._items) > MEMORY_ENTRIES:
                self._items.popitem(last=False)


class RedisStore:
    def __init__(self, url: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def generation(self) -> int:
        return int(self.redis.get(f"{PREFIX}:generation") or 0)

    def bump(self) -> None:
        self.redis.incr(f"{PREFIX}:generation")

    def get(self, key: str) -> str | None:
        value = self.redis.get(key)
        return value.decode("utf-8") if value is not None else None

    def set(self, key: str, value: str, ttl: float) -> None:
        self.redis.set(key, value, px=max(1, int(ttl * 1000)))


def store() -> MemoryStore | RedisStore:
    found = current_app.extensions.get("plex.cache")
    if found is None:
        url = redis_url()
        found = RedisStore(url) if url else MemoryStore()
        current_app.extensions["plex.cache"] = found
    return found


def cached(key: str, ttl: float, produce: Callable[[], Any]) -> Any:
    """``produce()``'s value, from the cache when a fresh copy is there."""
    if ttl <= 0:
        return produce()
    backend = store()
    try:
        full_key = f"{PREFIX}:{backend.generation()}:{key}"
        hit = backend.get(full_key)
    except Exception as exc:  # Redis down: answer without the cache
        log.warning("plex cache unavailable: %s", exc.__class__.__name__)
        return produce()
    if hit is not None:
        return json.loads(hit)
    value = produce()
    try:
        backend.set(full_key, json.dumps(value), ttl)
    except Exception as exc:
        log.warning("plex cache unavailable: %s", exc.__class__.__name__)
    return value


def invalidate() -> None:
    """Forget every cached answer (a download landed, settings changed)."""
    try:
        store().bump()
    except Exception as exc:
        log.warning("could not clear the plex cache: %s", exc.__class__.__name__)
