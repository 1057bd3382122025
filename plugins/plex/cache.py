"""A short-lived cache of what Plex answered, shared by every MediaNest process.

The core's cache (``medianest.plugins.cache``): with Redis the web processes
and the workers share it, so a worker that puts a download into Plex clears it
for everybody; embedded, it lives in the one process.  A broken Redis only
means no caching, never an error page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from medianest.plugins.cache import Cache

PLEX_CACHE = Cache("plex")


def store() -> Cache:
    return PLEX_CACHE


def cached(key: str, ttl: float, produce: Callable[[], Any]) -> Any:
    """``produce()``'s value, from the cache when a fresh copy is there."""
    return PLEX_CACHE.get_or_compute(key, ttl, produce)


def invalidate() -> None:
    """Forget every cached answer (a download landed, settings changed)."""
    PLEX_CACHE.clear()
