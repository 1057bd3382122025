"""One pooled Redis client per (URL, timeout) for the whole process.

Used by every core module and plugin that talks to Redis directly (socket
registry, answer caches, readiness): a client is built once, not per call.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import current_app
from redis import Redis

_clients: dict[tuple[str, float], Any] = {}
_lock = threading.Lock()


def redis_client(timeout: float = 1.0) -> Any | None:
    """The app's Redis (``REDIS_URL``), or ``None`` in embedded mode."""
    url = current_app.config["MEDIANEST"].redis_url
    if not url:
        return None
    key = (url, timeout)
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        return client
