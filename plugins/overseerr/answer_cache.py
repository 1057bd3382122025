"""A small time-limited cache for Overseerr's answers (search results, series details, users).

The core's cache (``medianest.plugins.cache``), in Redis when ``REDIS_URL`` is
set and in this process otherwise.  ``forget_all`` (a request was made, a
status changed) forgets every cached answer at once, so a search never shows a
title as requestable right after it was requested.
"""

from __future__ import annotations

from typing import Any

from medianest.plugins.cache import Cache

ANSWERS = Cache("overseerr")


def get(key: str) -> Any | None:
    return ANSWERS.get(key)


def put(key: str, value: Any, ttl: float) -> None:
    ANSWERS.set(key, value, ttl)


def forget_all() -> None:
    """Start a new generation: every cached answer is forgotten."""
    ANSWERS.clear()
