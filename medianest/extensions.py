"""Flask extensions, created once here and bound to an app in ``create_app``."""

from __future__ import annotations

from flask import current_app, request
from flask_limiter import Limiter
from flask_login import LoginManager, current_user
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx
from sqlalchemy import MetaData

# Stable constraint names, so Alembic can alter them on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
login_manager = LoginManager()
csrf = CSRFProtect()
htmx = Htmx()
socketio = SocketIO()


def rate_limit_key() -> str:
    """The rate-limit key: the user when signed in, else the client address."""
    try:
        if current_user.is_authenticated:
            return f"user:{current_user.id}"
    except Exception:  # no request user loaded (e.g. the database is down)
        # Leave the session usable: the view's own query then reports the real error.
        db.session.rollback()
    return f"ip:{request.remote_addr or 'unknown'}"


def api_limit() -> str:
    """The shared JSON API budget per user (per address when anonymous): ``MEDIANEST_RATE_LIMIT_API``."""
    return current_app.config["MEDIANEST"].rate_limit_api


def not_counted() -> bool:
    """Pages never count against the API budget, nor do the routes marked ``rate_limit_exempt`` (webhooks)."""
    if not request.path.startswith("/api/"):
        return True
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "medianest_rate_limit_exempt", False))


# Every /api/ call counts against one budget per user, as Flask-Limiter's
# application limit; the per-route limits (sign-in, media requests,
# downloads) are its decorators on those routes.
limiter = Limiter(
    key_func=rate_limit_key,
    default_limits=[],
    application_limits=[api_limit],
    application_limits_exempt_when=not_counted,
    headers_enabled=True,
)
