"""Flask extensions, created once here and bound to an app in ``create_app``."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
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
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
htmx = Htmx()
socketio = SocketIO()


def _rate_limit_key() -> str:
    from medianest.access import rate_limit_identity

    return rate_limit_identity()


limiter = Limiter(key_func=_rate_limit_key, default_limits=[], headers_enabled=True)


@migrate.configure
def _alembic_version_locations(config):
    """The core's revisions; ``medianest db upgrade`` runs each plugin's branch on its own (``medianest.cli``)."""
    import os

    from flask import current_app

    from medianest.cli import migration_locations

    config.set_main_option("version_locations", os.pathsep.join(migration_locations(current_app)))
    return config
