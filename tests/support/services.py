"""The real PostgreSQL and Redis every test run uses.

Outside CI a missing service skips the tests that need it; with ``CI=true``
they fail instead, so a broken machine can't pass for a green run.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager

import pytest

from medianest.testing.databases import PG_URL as PG_BASE
from medianest.testing.databases import PostgresDatabases, free_port, port_open

__all__ = ["PG_BASE", "PostgresDatabases", "free_port", "port_open", "redis_database", "service_missing"]

REDIS_HOST = os.environ.get("MEDIANEST_TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("MEDIANEST_TEST_REDIS_PORT", "6379"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def service_missing(what: str) -> None:
    message = f"{what} is not reachable"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: tests that need it fail instead of skipping)")
    pytest.skip(message)


@contextmanager
def redis_database():
    """A Redis database index of our own (1-15), so parallel runs never share queues."""
    for index in range(1, 16):
        lock = open(f"/tmp/medianest-test-redis-{index}.lock", "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            continue
        url = f"redis://{REDIS_HOST}:{REDIS_PORT}/{index}"
        try:
            import redis

            redis.Redis.from_url(url).flushdb()
            yield url
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            lock.close()
        return
    raise RuntimeError("no free Redis database index for this test run")
