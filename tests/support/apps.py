"""Building apps on migrated databases, signed-in clients, and live servers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

# The app, database and client helpers are MediaNest's own testing kit (medianest.testing).
from medianest.testing.apps import (  # noqa: E402
    ADMIN_PASSWORD,
    SECRET,
    MediaNestClient,
    build_app,
    copy_sqlite,
    make_settings,
    sign_in,
    truncate_postgres,
    upgrade,
)

__all__ = [
    "ADMIN_PASSWORD",
    "SECRET",
    "LiveServer",
    "MediaNestClient",
    "Process",
    "add_local_users",
    "build_app",
    "copy_sqlite",
    "make_settings",
    "sign_in",
    "truncate_postgres",
    "upgrade",
]


class LiveServer:
    """``medianest run`` in a subprocess, on a free port, with its own environment."""

    def __init__(self, env: dict[str, str], port: int, log_path: Path) -> None:
        self.env = env
        self.port = port
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> LiveServer:
        env = {**os.environ, **self.env}
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from medianest.cli import main; main()", "run", "--port", str(self.port)],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server did not start: {self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)
        self.proc = None
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def session(self, username: str = "admin", password: str = ADMIN_PASSWORD) -> requests.Session:
        """A requests session signed in as a local user, sending the CSRF header."""
        http = requests.Session()
        response = http.post(
            self.url + "/api/v1/auth/login", json={"username": username, "password": password}, timeout=10
        )
        response.raise_for_status()
        http.headers["X-CSRFToken"] = response.json()["data"]["csrf_token"]
        return http


class Process:
    """A MediaNest process other than the web one (``medianest worker``, ``beat``)."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.args = args
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> Process:
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from medianest.cli import main; main()", *self.args],
            env={**os.environ, **self.env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def wait_for_log(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"process exited: {self.log()[-3000:]}")
            time.sleep(0.2)
        raise TimeoutError(f"{text!r} not seen in log: {self.log()[-3000:]}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=30)
            self.proc = None
            self._log.close()

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        except ProcessLookupError:
            pass
        self.proc = None
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def add_local_users(server: LiveServer, work: Path, password: str, *names: str) -> dict[str, int]:
    """Local users with ``password``, written into a running server's own database; their ids by name."""
    from medianest.auth.passwords import hash_password
    from medianest.extensions import db
    from medianest.models import User

    url = server.env.get("DATABASE_URL") or f"sqlite:///{Path(server.env['MEDIANEST_DATA_DIR']) / 'medianest.db'}"
    app = build_app(make_settings(work / "users-app", url))
    ids = {}
    with app.app_context():
        for name in names:
            user = User(
                username=name,
                display_name=name.title(),
                role="user",
                is_local=True,
                password_hash=hash_password(password),
            )
            db.session.add(user)
            db.session.commit()
            ids[name] = user.id
        db.engine.dispose()
    return ids
