"""A PostgreSQL cluster and a Redis server of a test's own, to stop and restart at will.

The machine's shared PostgreSQL and Redis serve every test run at once, so a
drill that stops its database or its Redis must not touch them.  These start
from the same binaries on free ports, keep their files in a temporary
folder, and are gone when the test ends:

* :class:`PrivateRedis` — ``redis-server --port <free> --save "" --appendonly no``.
* :class:`PrivatePostgres` — ``initdb`` into a temporary folder and ``pg_ctl``
  (from ``/usr/lib/postgresql/<version>/bin``), trust authentication on
  127.0.0.1.  PostgreSQL refuses to run as root: when we are root the cluster
  belongs to the ``postgres`` OS user and every command runs as that user.

A missing binary skips the test outside CI and fails it under ``CI=true``
(like the shared services in ``tests/support/services.py``).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.services import free_port, port_open, service_missing


def _wait_port(port: int, up: bool, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open("127.0.0.1", port) == up:
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not {'start' if up else 'stop'} within {timeout} s")


class PrivateRedis:
    """A throw-away Redis on a free port, without persistence."""

    def __init__(self, folder: Path | None = None) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            service_missing("redis-server (Debian package redis-server)")
        self.folder = Path(folder or tempfile.mkdtemp(prefix="medianest-redis-"))
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        log = open(self.folder / "redis.log", "ab")
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        _wait_port(self.port, True, 10, "private Redis")
        return self

    def stop(self) -> None:
        """Stop at once (SIGKILL: clients see a dead server, not a polite shutdown)."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None
        _wait_port(self.port, False, 10, "private Redis")

    def __enter__(self) -> PrivateRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def postgres_bin() -> Path | None:
    """The newest PostgreSQL server binaries installed from Debian's packages."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[4]))
    return Path(found[-1]).parent if found else None


class PrivatePostgres:
    """A throw-away PostgreSQL cluster on a free port (superuser ``postgres``, trust auth)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.bin = postgres_bin()
        if self.bin is None:
            service_missing("PostgreSQL server binaries (/usr/lib/postgresql/*/bin)")
        self.folder = Path(folder or tempfile.mkdtemp(prefix="medianest-pg-"))
        self.data = self.folder / "data"
        self.socket_dir = self.folder / "sockets"
        self.logfile = self.folder / "postgres.log"
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else None
        self.started = False

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, timeout=timeout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> PrivatePostgres:
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if self.user:
            record = pwd.getpwnam(self.user)
            for path in (self.folder, self.socket_dir):
                os.chown(path, record.pw_uid, record.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
        self._start()
        return self

    def _start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.socket_dir} -c fsync=off"
        self._run("pg_ctl", "start", "-D", str(self.data), "-l", str(self.logfile), "-w", "-o", options)
        self.started = True

    def create_database(self, name: str) -> str:
        """A database on this cluster; returns its URL."""
        import psycopg2

        conn = psycopg2.connect(self.url)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        return self.url.rsplit("/", 1)[0] + "/" + name

    def restart(self) -> None:
        """Stop fast (every connection is cut) and start again on the same port."""
        self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "fast", "-w")
        self.started = False
        self._start()

    def stop(self) -> None:
        if self.started:
            with contextlib.suppress(subprocess.CalledProcessError):
                self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w")
            self.started = False

    def __enter__(self) -> PrivatePostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
