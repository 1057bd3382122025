"""A small time-limited cache for Overseerr's answers (search results, series details, users).

In Redis when ``REDIS_URL`` is set, so every web process and worker share it;
otherwise in this process, bounded in size.  A generation number is part of
every key: bumping it (a request was made, a status changed) forgets every
cached answer at once, so a search never shows a title as requestable right
after it was requested.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from typing import Any

from medianest.plugins.db import redis_client

log = logging.getLogger("medianest.overseerr")

PREFIX = "medianest:overseerr:cache:"
MAX_LOCAL_ENTRIES = 1024

_local: OrderedDict[str, tuple[float, Any]] = OrderedDict()
_local_generation = 0
_lock = threading.Lock()


def _redis():
    return redis_client(0.5)


def _generation(client) -> int:
    if client is None:
        return _local_generation
    return int(client.get(PREFIX + "generation") or 0)


def get(key: str) -> Any | None:
    client = _redis()
    try:
        full = f"{PREFIX}{_generation(client)}:{key}"
        if client is not None:
            raw = client.get(full)
            return None if raw is None else json.loads(raw)
    except Exception as exc:  # a cache that is down is a cache miss
        log.warning("answer cache unavailable: %s", exc)
        return None
    with _lock:
        entry = _local.get(full)
        if entry is None:
            return None
        expires, value = entry
        if expires < time.monotonic():
            del _local[full]
            return None
        return value


def put(key: str, value: Any, ttl: float) -> None:
    client = _redis()
    try:
        full = f"{PREFIX}{_generation(client)}:{key}"
        if client is not None:
            client.set(full, json.dumps(value), ex=max(1, int(ttl)))
            return
    except Exception as exc:
        log.warning("answer cache unavailable: %s", exc)
        return
    with _lock:
        _local[full] = (time.monotonic() + ttl, value)
        _local.move_to_end(full)
        while len(_local) > MAX_LOCAL_ENTRIES:
            _local.popitem(last=False)


def forget_all() -> None:
    """Start a new generation: every cached answer is forgotten."""
    global _local_generation
    client = _redis()
    if client is not None:
        try:
            client.incr(PREFIX + "generation")
        except Exception as exc:
            log.warning("answer cache unavailable: %s", exc)
    with _lock:
        _local_generation += 1
        _local.clear()
