"""The database, for plugins: the SQLAlchemy handle, the core rows a plugin may read or point at, Redis.

A plugin's models subclass ``db.Model`` and may hold a foreign key to
``User.id`` (``users.id``); its tables come with its own Alembic branch (the
``migration_locations`` hook).  Timestamps are naive UTC (``utcnow()``).
"""

from medianest.extensions import db
from medianest.models import AuditEvent, InstallationValue, ServiceSetting, ServiceStatus, User, utcnow
from medianest.redis_connection import redis_client

__all__ = [
    "AuditEvent",
    "InstallationValue",
    "ServiceSetting",
    "ServiceStatus",
    "User",
    "db",
    "redis_client",
    "utcnow",
]
