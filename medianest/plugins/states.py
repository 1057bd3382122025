"""The plugins' states in the database: an admin's switch and a fault at run time, shared by every process.

Read and written on a connection of their own, so a request's transaction
(and an error in it) is left alone.  A row exists only for a plugin an admin
has switched or that failed; no row means enabled.
"""

from __future__ import annotations

import logging

from sqlalchemy import insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from medianest.extensions import db
from medianest.models import PluginState, utcnow
from medianest.notifications.admin_notices import plugin_failed

log = logging.getLogger("medianest.plugins")


def read_states() -> dict[str, tuple[bool, str | None]] | None:
    """``name -> (enabled, fault)``; ``None`` when the table cannot be read (before ``db upgrade``)."""
    query = select(PluginState.name, PluginState.enabled, PluginState.error)
    try:
        with db.engine.connect() as connection:
            return {name: (enabled, error) for name, enabled, error in connection.execute(query)}
    except SQLAlchemyError as exc:
        log.debug("plugin states not read: %s", exc)
        return None


def record_faults(faults: dict[str, str]) -> None:
    """Mark plugins failed for every process; an admin enabling one clears it."""
    # The request's session may hold SQLite's write lock in this very thread:
    # it is over (this runs as its app context ends), so let it go first.
    db.session.remove()
    now = utcnow()
    try:
        with db.engine.begin() as connection:
            for name, message in faults.items():
                values = {"error": message[:4000], "failed_at": now}
                changed = connection.execute(update(PluginState).where(PluginState.name == name).values(**values))
                if not changed.rowcount:
                    connection.execute(insert(PluginState).values(name=name, enabled=True, updated_at=now, **values))
    except SQLAlchemyError as exc:
        log.warning("plugin faults not saved (%s): %s", ", ".join(faults), exc)
        return
    for name, message in faults.items():
        plugin_failed(name, message)
    db.session.remove()
