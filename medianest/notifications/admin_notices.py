"""The notifications only admins get: a service down and back up, a first sign-in, a plugin failing."""

from __future__ import annotations

import logging
from typing import Any

from flask import url_for
from sqlalchemy import select

from medianest.events import notify
from medianest.extensions import db
from medianest.models import ServiceCheck, ServiceStatus, User
from medianest.notifications.delivery import send_to_household

log = logging.getLogger("medianest.notifications")


def admin_ids() -> list[int]:
    return list(db.session.scalars(select(User.id).where(User.role == "admin", User.status == "active")))


def notify_admins(message: str, level: str = "info", link: str | None = None, kind: str = "message") -> None:
    """A ``notification`` for every active admin (each in their own inbox and on their channels)."""
    for admin_id in admin_ids():
        notify(admin_id, message, level, link, kind)


def _link(endpoint: str) -> str | None:
    try:
        return url_for(endpoint)
    except RuntimeError:  # a worker without a request to build URLs from
        return None


def on_service_status(payload: dict[str, Any]) -> None:
    """``service.status``: offline is "down"; online after an offline check is "back up"."""
    service, status = payload.get("service"), payload.get("status")
    row = db.session.get(ServiceStatus, service)
    name = row.display_name if row is not None and row.display_name else service
    if status == "offline":
        error = f": {payload['error']}" if payload.get("error") else ""
        message = f"{name} is down{error}"
        notify_admins(message, "error", _link("dashboard.index"), "service.down")
        send_to_household("service.down", message, "error")
        return
    if status != "online":
        return
    before = db.session.scalars(
        select(ServiceCheck.status)
        .where(ServiceCheck.service == service)
        .order_by(ServiceCheck.checked_at.desc(), ServiceCheck.id.desc())
        .offset(1)
        .limit(1)
    ).first()
    if before == "offline":
        notify_admins(f"{name} is back up.", "success", _link("dashboard.index"), "service.up")
        send_to_household("service.up", f"{name} is back up.", "success")


def on_first_sign_in(payload: dict[str, Any]) -> None:
    """``user.first_sign_in``: tell the admins who joined (not about themselves)."""
    user = db.session.get(User, payload.get("user_id"))
    if user is None:
        return
    via = "with a local account" if payload.get("via") in ("password", "setup") else "with Plex"
    for admin_id in admin_ids():
        if admin_id != user.id:
            notify(admin_id, f"{user.name} signed in for the first time ({via}).", "info", None, "user.first_sign_in")


def plugin_failed(name: str, message: str) -> None:
    """A plugin was stopped by a fault; called where the fault is saved."""
    try:
        notify_admins(f"The plugin “{name}” failed and was switched off: {message}", "error", None, "plugin.failed")
    except Exception:  # telling is best-effort; the fault itself is saved and shown on the plugins page
        log.exception("could not tell the admins that plugin %s failed", name)
