"""Reading and writing the external services' settings (encrypted at rest).

A value set in the environment (``MEDIANEST_<SERVICE>_<FIELD>`` or its
``_FILE`` twin) wins over the stored one and is shown as "set by the
environment" on the admin page.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from medianest.extensions import db
from medianest.models import ServiceSetting
from medianest.settings import service_env

MASK = "••••••••"


def keyring():
    return current_app.extensions["medianest.keyring"]


def service_definitions() -> dict[str, Any]:
    """Every plugin's ``ServiceSettings``, by service key."""
    host = current_app.extensions["medianest.plugins"]
    return {item.service: item for _, item in host.collect("service_settings")}


def _stored(service: str) -> dict[str, str]:
    rows = db.session.scalars(db.select(ServiceSetting).where(ServiceSetting.service == service))
    ring = keyring()
    return {row.field: ring.decrypt(row.ciphertext, f"{service}.{row.field}") for row in rows}


def service_config(service: str, fields: list[str] | None = None) -> dict[str, Any]:
    """The decrypted settings of one service: stored values overlaid by the environment."""
    values: dict[str, Any] = _stored(service)
    definition = service_definitions().get(service)
    names = set(fields or []) | set(values)
    if definition is not None:
        names |= {f.name for f in definition.fields}
        for f in definition.fields:
            if f.default is not None:
                values.setdefault(f.name, f.default)
    for name in names:
        env_value = service_env(service, name)
        if env_value is not None:
            values[name] = env_value
    return values


def env_fields(service: str, fields: list[str]) -> set[str]:
    return {name for name in fields if service_env(service, name) is not None}


def save_service_config(service: str, values: dict[str, Any], secret_fields: set[str]) -> list[str]:
    """Store values (encrypting each); a mask coming back keeps the stored secret. Returns changed field names."""
    ring = keyring()
    changed = []
    for field, value in values.items():
        if field in secret_fields and value == MASK:
            continue
        row = db.session.get(ServiceSetting, (service, field))
        text = "" if value is None else str(value)
        if row is not None and ring.decrypt(row.ciphertext, f"{service}.{field}") == text:
            continue
        ciphertext = ring.encrypt(text, f"{service}.{field}")
        if row is None:
            db.session.add(ServiceSetting(service=service, field=field, ciphertext=ciphertext, is_secret=field in secret_fields))
        else:
            row.ciphertext = ciphertext
            row.is_secret = field in secret_fields
        changed.append(field)
    db.session.commit()
    return changed


def masked(values: dict[str, Any], secret_fields: set[str]) -> dict[str, Any]:
    return {k: (MASK if k in secret_fields and v else v) for k, v in values.items()}
