"""Enabling and disabling installed plugins; the choice is kept in the database."""

from __future__ import annotations

import logging

from flask import Flask, current_app
from flask_login import current_user

from medianest.extensions import db
from medianest.models import AuditEvent, PluginState

log = logging.getLogger("medianest.plugins")


def load_plugin_states(app: Flask) -> None:
    """Apply the admins' saved switches to the host (tables may not exist before ``db upgrade``)."""
    from sqlalchemy import inspect

    host = app.extensions["medianest.plugins"]
    try:
        if not inspect(db.engine).has_table(PluginState.__tablename__):
            return  # a new database: ``db upgrade`` (run by ``medianest run``) creates it, every plugin starts enabled
        for row in db.session.scalars(db.select(PluginState)):
            if row.name in host.plugins:
                host.set_enabled(row.name, row.enabled)
    except Exception:
        db.session.rollback()
        log.warning("plugin states not loaded (has the database been upgraded?)")


def set_plugin_enabled(name: str, enabled: bool) -> dict:
    host = current_app.extensions["medianest.plugins"]
    row = db.session.get(PluginState, name) or PluginState(name=name)
    row.enabled = enabled
    row.updated_by = current_user.id
    db.session.add(row)
    db.session.add(
        AuditEvent(
            actor_id=current_user.id,
            actor_name=current_user.username,
            action="plugin.enabled" if enabled else "plugin.disabled",
            target=f"plugin:{name}",
            details={"enabled": enabled},
        )
    )
    db.session.commit()
    host.set_enabled(name, enabled)
    return host.plugins[name].to_public()
