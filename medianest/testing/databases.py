"""The PostgreSQL server the tests use, and throw-away databases on it."""

from __future__ import annotations

import os
import socket
import uuid
from urllib.parse import urlsplit

#: The server and maintenance database; each test run creates its own databases beside it.
PG_URL = os.environ.get("MEDIANEST_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def postgres_problem(url: str = PG_URL) -> str | None:
    """Why the PostgreSQL server at ``url`` cannot be used (``None`` when it can)."""
    parts = urlsplit(url)
    where = f"{parts.hostname or '127.0.0.1'}:{parts.port or 5432}"
    if not port_open(parts.hostname or "127.0.0.1", parts.port or 5432):
        return f"PostgreSQL at {where} is not reachable (set MEDIANEST_TEST_PG to a server's URL)"
    try:
        import psycopg2

        psycopg2.connect(url).close()
    except Exception as exc:  # any refusal: wrong user, no database
        return f"PostgreSQL at {where} refused {url.split('@')[-1]}: {str(exc).strip().splitlines()[0]}"
    return None


class PostgresDatabases:
    """Creates throw-away databases on the PostgreSQL server and drops them at the end."""

    def __init__(self, url: str = PG_URL) -> None:
        self.url = url
        self.created: list[str] = []

    def create(self) -> str:
        import psycopg2

        name = f"mn_{uuid.uuid4().hex[:12]}"
        conn = psycopg2.connect(self.url)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        self.created.append(name)
        return self.url.rsplit("/", 1)[0] + "/" + name

    def drop_all(self) -> None:
        import psycopg2

        if not self.created:
            return
        conn = psycopg2.connect(self.url)
        conn.autocommit = True
        with conn.cursor() as cur:
            for name in self.created:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()
        self.created.clear()
