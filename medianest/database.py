"""How MediaNest talks to its database: the engine's options."""

from __future__ import annotations

from typing import Any

import orjson


def engine_options(url: str) -> dict[str, Any]:
    # JSON columns (a download's files) are decoded by orjson: the standard
    # library's decoder was a twentieth of a list call.
    json_options = {"json_deserializer": orjson.loads}
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30, "check_same_thread": False}, **json_options}
    # A gevent worker serves many requests at once, each holding a connection
    # from its first query to its end: connections past ``pool_size`` are
    # opened and closed per request (a PostgreSQL backend started each time),
    # so the pool keeps 20 and allows 10 more for bursts.  A connection the
    # server closed (a restart) is found by SQLAlchemy's ping on checkout.
    return {"pool_size": 20, "max_overflow": 10, "pool_recycle": 1800, "pool_pre_ping": True, **json_options}
