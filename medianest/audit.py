"""Writing the audit log: who changed which setting, role or status, and when.

Secrets never reach it: a secret field is recorded as ``"changed"``, and any
detail whose name looks like a credential is dropped before writing.
"""

from __future__ import annotations

import re
from typing import Any

from flask_login import current_user

from medianest.extensions import db
from medianest.models import AuditEvent

_SECRET_NAME = re.compile(r"(pass|secret|token|key|auth|cookie|credential)", re.IGNORECASE)


def scrub(details: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for name, value in details.items():
        if isinstance(value, dict):
            clean[name] = scrub(value)
        elif _SECRET_NAME.search(name) and value not in ("changed", None, True, False):
            clean[name] = "changed"
        else:
            clean[name] = value
    return clean


def record(action: str, target: str | None, details: dict[str, Any] | None = None, actor: Any = None) -> AuditEvent:
    """Append one event (and commit). ``actor`` defaults to the signed-in user."""
    who = actor if actor is not None else (current_user if current_user and current_user.is_authenticated else None)
    event = AuditEvent(
        actor_id=getattr(who, "id", None),
        actor_name=getattr(who, "username", None),
        action=action,
        target=target,
        details=scrub(details or {}),
    )
    db.session.add(event)
    db.session.commit()
    return event
