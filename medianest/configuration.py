"""The app's configuration from MediaNest's settings: keys, cookies, the database and request limits.

Apart from :mod:`medianest.app` so that gunicorn's arbiter can check the
settings (``medianest/gunicorn_conf.py``) without importing the whole app:
what the arbiter imports stays in its memory, and the web process's memory
has a budget (bench/household_budgets.py).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask

from medianest.database import engine_options
from medianest.keyring import Keyring, derive, instance_secret
from medianest.settings import Settings, SettingsError

PACKAGE = Path(__file__).resolve().parent


def configure_settings(app: Flask, settings: Settings, overrides: dict[str, Any]) -> None:
    """The Flask configuration ``settings`` make, then ``overrides``; a wrong setting raises ``SettingsError``."""
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    secret = settings.secret_key
    if not secret:
        if not settings.embedded:
            raise SettingsError("setting MEDIANEST_SECRET_KEY: required when REDIS_URL is set (production mode)")
        secret = instance_secret(Path(settings.data_dir))
    previous = [s.strip() for s in (settings.previous_secret_keys or "").split(",") if s.strip()]
    app.extensions["medianest.keyring"] = Keyring(secret, previous)
    secure = bool(settings.base_url and settings.base_url.startswith("https://"))
    app.config.update(
        MEDIANEST=settings,
        SECRET_KEY=derive(secret, b"flask-session").hex(),
        # Sessions signed with a previous secret stay valid while ``rotate-key`` runs.
        SECRET_KEY_FALLBACKS=[derive(old, b"flask-session").hex() for old in previous],
        # __Host-: only over HTTPS, for this host and path / (OWASP ASVS 3.4.4).
        SESSION_COOKIE_NAME="__Host-medianest" if secure else "session",
        SQLALCHEMY_DATABASE_URI=settings.sqlalchemy_url,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(settings.sqlalchemy_url),
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_DURATION=timedelta(days=90),
        PERMANENT_SESSION_LIFETIME=timedelta(days=14),
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=False,
        MEDIANEST_ASSETS_DIR=str(PACKAGE / "static" / "vendor"),
    )
    app.config.update(overrides)
