"""Caches, for plugins: answers kept for a while, and poster files kept on disk.

``Cache(name)`` keeps JSON values with a time limit, in Redis when there is
one (shared by every process) and in memory otherwise; ``clear()`` forgets
them all at once, and a Redis that is down only means no caching.
``PosterCache(name)`` keeps the pictures a plugin fetches on the browser's
behalf, and ``poster_response`` serves one of them.  A plugin that talks to
Redis itself takes the one pooled client from ``redis_client``.
"""

from medianest.cache import Cache
from medianest.posters import KEEP_DAYS, PosterCache, poster_response
from medianest.redis_connection import redis_client

__all__ = ["KEEP_DAYS", "Cache", "PosterCache", "poster_response", "redis_client"]
