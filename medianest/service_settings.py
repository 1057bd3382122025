"""Reading and writing the external services' settings (encrypted at rest).

A value set in the environment (``MEDIANEST_<SERVICE>_<FIELD>`` or its
``_FILE`` twin) wins over the stored one and is shown as "set by the
environment" on the admin page.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, g, has_request_context

from medianest.extensions import db
from medianest.logs import remember_secret
from medianest.models import NotificationChannel, ServiceSetting, User
from medianest.setting_models import REQUIRED, UNKNOWN, settings_problems
from medianest.settings import service_env

MASK = "••••••••"


def keyring():
    return current_app.extensions["medianest.keyring"]


def service_definitions() -> dict[str, Any]:
    """Every plugin's ``ServiceSettings``, by service key."""
    host = current_app.extensions["medianest.plugins"]
    return {item.service: item for _, item in host.collect_static("service_settings")}


def _stored(service: str) -> dict[str, str]:
    rows = db.session.scalars(db.select(ServiceSetting).where(ServiceSetting.service == service))
    ring = keyring()
    values = {}
    for row in rows:
        values[row.field] = ring.decrypt(row.ciphertext, row.purpose)
        if row.is_secret:
            remember_secret(values[row.field])  # masked in every log line from now on
    return values


def service_config(service: str, fields: list[str] | None = None) -> dict[str, Any]:
    """The decrypted settings of one service: stored values overlaid by the environment.

    Read once per request (kept for the rest of it); jobs and commands read
    the database each time.
    """
    if not has_request_context():
        return _service_config(service, fields)
    cache = g.setdefault("medianest_service_config", {})
    key = (service, tuple(sorted(fields or ())))
    if key not in cache:
        cache[key] = _service_config(service, fields)
    return dict(cache[key])


def _service_config(service: str, fields: list[str] | None) -> dict[str, Any]:
    values = _stored(service)
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
    if definition is not None:
        remember_secret(*(values.get(f.name) for f in definition.fields if f.secret))
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
        purpose = ServiceSetting.purpose_of(service, field)
        if row is not None and ring.decrypt(row.ciphertext, purpose) == text:
            continue
        ciphertext = ring.encrypt(text, purpose)
        if row is None:
            db.session.add(
                ServiceSetting(service=service, field=field, ciphertext=ciphertext, is_secret=field in secret_fields)
            )
        else:
            row.ciphertext = ciphertext
            row.is_secret = field in secret_fields
        changed.append(field)
    db.session.commit()
    if has_request_context():
        g.pop("medianest_service_config", None)
    return changed


def masked(values: dict[str, Any], secret_fields: set[str]) -> dict[str, Any]:
    return {k: (MASK if k in secret_fields and v else v) for k, v in values.items()}


# ---------------------------------------------------------------- the admin's view of the settings
class SettingsRejected(ValueError):
    """The admin's values can't be saved; ``problems`` maps a field to its message."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


def describe_service(definition: Any) -> dict[str, Any]:
    """One service for the admin page and ``GET /api/v1/admin/services``: values masked, env-set fields named."""
    names = [f.name for f in definition.fields]
    secret = {f.name for f in definition.fields if f.secret}
    values = service_config(definition.service, names)
    from_env = env_fields(definition.service, names)
    fields = []
    for f in definition.fields:
        value = values.get(f.name)
        fields.append(
            {
                "name": f.name,
                "label": f.label,
                "kind": f.kind,
                "secret": f.secret,
                "required": f.required,
                "help": f.help,
                "choices": list(f.choices),
                "value": (MASK if value else "") if f.secret else ("" if value is None else value),
                "is_set": bool(value),
                "from_env": f.name in from_env,
                "env_name": f"MEDIANEST_{definition.service.upper()}_{f.name.upper()}",
            }
        )
    configured = all(values.get(f.name) for f in definition.fields if f.required)
    return {
        "service": definition.service,
        "title": definition.title,
        "description": definition.description() if callable(definition.description) else definition.description,
        "fields": fields,
        "secret_fields": sorted(secret),
        "configured": configured,
        "testable": definition.test_connection is not None,
    }


def _check_values(definition: Any, values: dict[str, Any], merged: dict[str, Any], locked: set[str]) -> dict[str, str]:
    """Field -> message: unknown names, required values left empty, then the settings model's verdict.

    A field the environment sets is not judged here (it can't be changed on this page).
    """
    known = {f.name for f in definition.fields}
    problems = {name: UNKNOWN for name in values if name not in known}
    for f in definition.fields:
        if f.required and not merged.get(f.name) and f.name not in locked:
            problems.setdefault(f.name, REQUIRED)
    checked = {name: merged.get(name) for name in known}
    for name, message in settings_problems(definition.model, checked).items():
        if name not in locked:
            problems.setdefault(name, message)
    return problems


def merged_values(definition: Any, values: dict[str, Any]) -> dict[str, Any]:
    """The stored (and environment) values overlaid by the submitted ones; a mask keeps the stored secret."""
    names = [f.name for f in definition.fields]
    secret = {f.name for f in definition.fields if f.secret}
    merged = service_config(definition.service, names)
    for name, value in values.items():
        if name in secret and value == MASK:
            continue
        merged[name] = "" if value is None else (str(value).strip() if not isinstance(value, bool) else value)
    remember_secret(*(merged.get(name) for name in secret))  # a key being tried may reach a log line
    return merged


def update_service(service: str, values: dict[str, Any]) -> list[str]:
    """Validate and store an admin's values for one service; returns the changed field names.

    Fields set by the environment can't be changed here (``SET_BY_ENVIRONMENT``).
    """
    definition = service_definitions().get(service)
    if definition is None:
        raise KeyError(service)
    names = [f.name for f in definition.fields]
    from_env = env_fields(service, names)
    secret = {f.name for f in definition.fields if f.secret}
    locked = sorted(
        name
        for name in from_env
        if name in values and values[name] not in (MASK,) and str(values[name]) != str(service_env(service, name))
    )
    if locked:
        raise SettingsRejected({name: "Set by the environment; change it there." for name in locked})
    merged = merged_values(definition, values)
    problems = _check_values(definition, values, merged, from_env)
    if not problems and definition.validate is not None:
        problems.update(definition.validate(merged) or {})
    if problems:
        raise SettingsRejected(problems)
    to_store = {k: v for k, v in values.items() if k not in from_env}
    to_store = {k: (v.strip() if isinstance(v, str) and k not in secret else v) for k, v in to_store.items()}
    return save_service_config(service, to_store, secret)


def clear_service(service: str) -> tuple[list[str], list[str]]:
    """Forget every stored setting of one service (un-configure it).

    Returns the fields cleared and the fields the environment still sets
    (those stay until the environment changes).
    """
    definition = service_definitions().get(service)
    if definition is None:
        raise KeyError(service)
    rows = list(db.session.scalars(db.select(ServiceSetting).where(ServiceSetting.service == service)))
    for row in rows:
        db.session.delete(row)
    db.session.commit()
    if has_request_context():
        g.pop("medianest_service_config", None)
    names = [f.name for f in definition.fields]
    return sorted(row.field for row in rows), sorted(env_fields(service, names))


def rotate_encryption(dry_run: bool = False) -> dict[str, int]:
    """Re-encrypt every stored secret (service settings, Plex tokens, notification channels' URLs) under
    the keyring's current key.

    Everything is read first, so a value no configured key can open stops the
    whole run before anything changes (``DecryptionError``).
    """

    ring = keyring()
    # What is encrypted: which rows, which column, and the purpose its ciphertext is bound to.
    encrypted = (
        ("service_settings", db.select(ServiceSetting), "ciphertext", lambda row: row.purpose),
        (
            "plex_tokens",
            db.select(User).where(User.plex_token.is_not(None)),
            "plex_token",
            lambda user: user.plex_token_purpose,
        ),
        (
            "notification_channels",
            db.select(NotificationChannel),
            "url_ciphertext",
            lambda _: NotificationChannel.URL_PURPOSE,
        ),
    )
    counts = {"current": 0}
    pending: list[tuple[Any, str, str, str]] = []
    for name, rows, column, purpose_of in encrypted:
        counts[name] = 0
        for row in db.session.scalars(rows):
            ciphertext = getattr(row, column)
            if ring.needs_rotation(ciphertext):
                purpose = purpose_of(row)
                pending.append((row, column, ring.decrypt(ciphertext, purpose), purpose))
                counts[name] += 1
            else:
                counts["current"] += 1
    if dry_run:
        return counts
    for obj, attribute, plaintext, purpose in pending:
        setattr(obj, attribute, ring.encrypt(plaintext, purpose))
    db.session.commit()
    return counts
