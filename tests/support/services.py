"""The real PostgreSQL and Redis every test run uses.

Outside CI a missing service skips the tests that need it; with ``CI=true``
they fail instead, so a broken machine can't pass for a green run.
"""

from __future__ import annotations

import fcntl
import os
import socket
import uuid
from contextlib import contextmanager

import pytest

PG_BASE = os.environ.get("MEDIANEST_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_HOST = os.environ.get("MEDIANEST_TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("MEDIANEST_TEST_REDIS_PORT", "6379"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def service_missing(what: str) -> None:
    message = f"{what} is not reachable"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: tests that need it fail instead of skipping)")
    pytest.skip(message)


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class PostgresDatabases:
    """Creates throw-away databases on the PostgreSQL server and drops them at the end."""

    def __init__(self) -> None:
        self.created: list[str] = []

    def create(self) -> str:
        import psycopg2

        name = f"mn_{uuid.uuid4().hex[:12]}"
        conn = psycopg2.connect(PG_BASE)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        self.created.append(name)
        return PG_BASE.rsplit("/", 1)[0] + "/" + name

    def drop_all(self) -> None:
        import psycopg2

        if not self.created:
            return
        conn = psycopg2.connect(PG_BASE)
        conn.autocommit = True
        with conn.cursor() as cur:
            for name in self.created:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()
        self.created.clear()


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
