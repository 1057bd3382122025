"""Enabling and disabling installed plugins; the choice is kept in the database for every process."""

from __future__ import annotations

from flask import current_app
from flask_login import current_user

from medianest.extensions import db
from medianest.models import AuditEvent, PluginState


def set_plugin_enabled(name: str, enabled: bool) -> dict:
    """Switch a plugin on or off everywhere; switching it on also clears the fault that stopped it."""
    host = current_app.extensions["medianest.plugins"]
    row = db.session.get(PluginState, name) or PluginState(name=name)
    row.enabled = enabled
    row.updated_by = current_user.id
    if enabled:
        row.error = None
        row.failed_at = None
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
