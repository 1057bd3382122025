"""A named, time-limited cache of JSON values, shared by every MediaNest process when Redis is there.

With ``REDIS_URL`` (production) the web processes and the workers share one
cache, so a worker that changes something clears it for everybody; embedded,
it lives in the app's process, bounded in size.  A generation number is part
of every key: ``clear()`` bumps it instead of deleting keys, so every answer
is forgotten at once.  A cache that cannot be reached is a cache miss, logged,
never an error page.

No library installed here does this job: Flask-Caching is not a dependency,
builds its own Redis client, clears by deleting keys and raises when Redis is
down; so the memory store below is a small ordered dict.
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

from medianest.redis_connection import redis_client

log = logging.getLogger("medianest.cache")

MEMORY_ENTRIES = 1024
_MISSING = object()
_stores_lock = threading.Lock()


class _MemoryStore:
    """One app's entries of one cache: (expiry on the monotonic clock, JSON text), least recently set first."""

    def __init__(self) -> None:
        self.items: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self.lock:
            found = self.items.get(key)
            if found is None:
                return None
            expires, value = found
            if expires < time.monotonic():
                del self.items[key]
                return None
            return value

    def set(self, key: str, value: str, ttl: float) -> None:
        with self.lock:
            self.items[key] = (time.monotonic() + ttl, value)
            self.items.move_to_end(key)
            while len(self.items) > MEMORY_ENTRIES:
                self.items.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


class Cache:
    """The cache called ``name``: its Redis keys are ``medianest:<name>:cache:<generation>:<key>``.

    Values are anything ``json.dumps`` takes; both stores keep the JSON text,
    so every hit is a fresh copy and both give back the same thing.
    """

    def __init__(self, name: str, timeout: float = 0.5) -> None:
        self.name = name
        self.prefix = f"medianest:{name}:cache:"
        self.timeout = timeout  # seconds a Redis call may take before the cache counts as down

    def get(self, key: str) -> Any | None:
        """The fresh value kept for ``key``, or ``None``."""
        found = self._lookup(key)
        return None if found is _MISSING else found

    def set(self, key: str, value: Any, ttl: float) -> None:
        """Keep ``value`` for ``ttl`` seconds (nothing is kept for a ``ttl`` of 0 or less)."""
        if ttl <= 0:
            return
        text = json.dumps(value)
        client = redis_client(self.timeout)
        if client is None:
            self._memory().set(key, text, ttl)
            return
        try:
            client.set(f"{self.prefix}{self._generation(client)}:{key}", text, px=max(1, int(ttl * 1000)))
        except Exception as exc:  # Redis down: the answer is simply not kept
            self._unavailable(exc)

    def get_or_compute(self, key: str, ttl: float, compute: Callable[[], Any]) -> Any:
        """``compute()``'s value, from the cache when a fresh copy is there (kept ``ttl`` seconds)."""
        if ttl <= 0:
            return compute()
        found = self._lookup(key)
        if found is not _MISSING:
            return found
        value = compute()
        self.set(key, value, ttl)
        return value

    def clear(self) -> None:
        """Forget every value at once, in every process (a new generation)."""
        client = redis_client(self.timeout)
        if client is not None:
            try:
                client.incr(f"{self.prefix}generation")
            except Exception as exc:
                self._unavailable(exc)
        self._memory().clear()

    def _lookup(self, key: str) -> Any:
        client = redis_client(self.timeout)
        if client is None:
            raw = self._memory().get(key)
        else:
            try:
                raw = client.get(f"{self.prefix}{self._generation(client)}:{key}")
            except Exception as exc:  # Redis down: a cache miss
                self._unavailable(exc)
                return _MISSING
        return _MISSING if raw is None else json.loads(raw)

    def _generation(self, client: Any) -> int:
        return int(client.get(f"{self.prefix}generation") or 0)

    def _memory(self) -> _MemoryStore:
        # One store per app and cache name: two apps in one process (tests) never share answers.
        stores = current_app.extensions.setdefault("medianest.cache", {})
        with _stores_lock:
            return stores.setdefault(self.name, _MemoryStore())

    def _unavailable(self, exc: Exception) -> None:
        log.warning("the %s cache is unavailable: %s", self.name, exc.__class__.__name__)
