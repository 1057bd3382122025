"""This installation's one ``X-Plex-Client-Identifier``.

plex.tv and every Plex server list each identifier as a device, and bind a
sign-in PIN to the identifier that asked for it; so the Plex sign-in and the
Plex plugin's calls must send the same one.  It is made once, stored in
``installation_values`` under :data:`KEY`, and read by both: the core
directly, plugins through ``medianest.plugins.plex_client_identifier``.
"""

from __future__ import annotations

import uuid

from flask import current_app
from sqlalchemy.exc import IntegrityError

from medianest.extensions import db
from medianest.models import InstallationValue

KEY = "plex_client_identifier"
_APP_KEY = "medianest.plex_client_identifier"


def plex_client_identifier() -> str:
    """The identifier, created on first use (two processes creating it at once agree on the first one stored)."""
    cached = current_app.extensions.get(_APP_KEY)
    if cached:
        return cached
    try:
        value = InstallationValue.get_or_create(KEY, lambda: str(uuid.uuid4()))
    except IntegrityError:  # another process stored one at the same moment: theirs wins
        db.session.rollback()
        value = InstallationValue.get(KEY) or ""
    if value:
        current_app.extensions[_APP_KEY] = value
    return value
