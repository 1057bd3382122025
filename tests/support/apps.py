"""Building apps on migrated databases, signed-in clients, and live servers."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from flask.testing import FlaskClient

from medianest.settings import Settings

ADMIN_PASSWORD = "admin-password-for-tests"
SECRET = "test-secret-key-0123456789abcdef"
_CSRF_IN_PAGE = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_settings(data_dir: Path, database_url: str | None, redis_url: str | None = None, **extra: Any) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        redis_url=redis_url,
        secret_key=SECRET,
        admin_password=ADMIN_PASSWORD,
        log_format="text",
        **extra,
    )


def build_app(settings: Settings, **config: Any) -> Flask:
    from medianest.app import create_app

    return create_app({"settings": settings, "TESTING": True, **config})


def upgrade(app: Flask) -> None:
    from medianest.cli import upgrade_database

    upgrade_database(app)


def truncate_postgres(app: Flask) -> None:
    from sqlalchemy import text

    from medianest.extensions import db

    with app.app_context():
        names = [
            r[0]
            for r in db.session.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                    " AND tablename NOT LIKE 'alembic\\_version%' ESCAPE '\\'"
                )
            )
        ]
        if names:
            db.session.execute(text("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE"))
            db.session.commit()


def copy_sqlite(template: Path, target_dir: Path) -> str:
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / "medianest.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


class MediaNestClient(FlaskClient):
    """A test client that sends the CSRF token on state-changing calls, as the pages do."""

    def csrf_token(self) -> str:
        response = super().open("/api/v1/auth/session", method="GET")
        if response.status_code == 200:
            return response.get_json()["data"]["csrf_token"]
        page = super().open("/auth/login", method="GET").get_data(as_text=True)
        match = _CSRF_IN_PAGE.search(page)
        assert match, "no CSRF token on the sign-in page"
        return match.group(1)

    def open(self, *args: Any, **kwargs: Any):  # type: ignore[override]
        method = (kwargs.get("method") or "GET").upper()
        csrf = kwargs.pop("csrf", True)
        if csrf and method in ("POST", "PUT", "PATCH", "DELETE"):
            headers = dict(kwargs.pop("headers", None) or {})
            if "Authorization" not in headers and "X-CSRFToken" not in headers:
                headers["X-CSRFToken"] = self.csrf_token()
            kwargs["headers"] = headers
        return super().open(*args, **kwargs)


def sign_in(client: FlaskClient, user: Any) -> FlaskClient:
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    return client


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
