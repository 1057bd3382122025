"""Apps on migrated databases and clients that sign in the way the pages do.

The pytest plugin is loaded in every pytest run of an environment with
MediaNest, and imports this module at pytest's start: the app's own modules
are imported where a helper first needs them, so a run that uses none of the
fixtures does not load Flask's app, SQLAlchemy's models and the plugins.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from medianest.settings import Settings

ADMIN_PASSWORD = "admin-password-for-tests"  # noqa: S105  (test apps only)
SECRET = "test-secret-key-0123456789abcdef"  # noqa: S105
_CSRF_IN_PAGE = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_settings(data_dir: Path, database_url: str | None, redis_url: str | None = None, **extra: Any) -> Settings:
    """Settings for a test app: its own instance folder, a fixed key and admin password."""
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
    """``create_app`` in testing mode (invalid event payloads raise there)."""
    from medianest.app import create_app

    return create_app({"settings": settings, "TESTING": True, **config})


def upgrade(app: Flask) -> None:
    """Run every migration, the core's and each installed plugin's branch, as ``medianest db upgrade`` does."""
    from medianest.database_upgrade import upgrade_database

    upgrade_database(app)


def truncate_postgres(app: Flask) -> None:
    """Empty every table of a migrated PostgreSQL database (the schema and its versions stay)."""
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
    """A copy of a migrated SQLite file in ``target_dir``; its URL."""
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / "medianest.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


def dispose(app: Flask) -> None:
    """Close the app's database connections (before its database is dropped or copied)."""
    from medianest.extensions import db

    with app.app_context():
        db.engine.dispose()


class MediaNestClient(FlaskClient):
    """A test client that sends the CSRF token on state-changing calls, as the pages do.

    Pass ``csrf=False`` to a call to leave the token out (to test the refusal).
    """

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


class TokenClient(FlaskClient):
    """A test client that presents a personal API token (``Authorization: Bearer``) and no cookie."""

    token: str = ""

    def open(self, *args: Any, **kwargs: Any):  # type: ignore[override]
        headers = dict(kwargs.pop("headers", None) or {})
        headers.setdefault("Authorization", f"Bearer {self.token}")
        kwargs["headers"] = headers
        return super().open(*args, **kwargs)


class MediaNestCliRunner(FlaskCliRunner):
    """``runner.invoke(args=["plugins"])`` runs the ``medianest`` command against the test app."""

    def invoke(self, cli: Any = None, args: Any = None, **kwargs: Any):  # type: ignore[override]
        if cli is None:
            from medianest.cli import cli as medianest

            cli = medianest
        return super().invoke(cli, args, **kwargs)


def sign_in(client: FlaskClient, user: Any) -> FlaskClient:
    """Make ``client`` signed in as ``user`` (a fresh session, as after the sign-in form)."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    return client


def make_user(app: Flask, username: str, role: str = "user", **fields: Any):
    """A person in the app's database (detached, so its attributes stay readable)."""
    from medianest.extensions import db
    from medianest.models import User

    with app.app_context():
        user = User(username=username, display_name=username.title(), role=role, **fields)
        db.session.add(user)
        db.session.commit()
        db.session.refresh(user)
        db.session.expunge(user)
        return user


def local_admin(app: Flask):
    """The local ``admin`` every migrated database has."""
    from medianest.extensions import db
    from medianest.models import User

    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.username == "admin"))
        db.session.expunge(user)
        return user


def token_client(app: Flask, user: Any, name: str = "tests") -> TokenClient:
    """A client presenting a new personal API token of ``user``."""
    from medianest.auth.tokens import create_token
    from medianest.extensions import db
    from medianest.models import User

    with app.app_context():
        _row, secret = create_token(db.session.get(User, user.id), name)
    client = TokenClient(app, app.response_class, use_cookies=False)
    client.token = secret
    return client
