"""Admin: users, services, plugins and the audit log — pages (htmx) and the ``/api/v1/admin`` JSON routes."""

from __future__ import annotations

import json
import logging
from typing import Any, Literal

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from pydantic import BaseModel, Field

from medianest.access import admin_required
from medianest.admin.plugins import set_plugin_enabled
from medianest.admin.users import change_user, delete_user
from medianest.api import ApiError, CursorQuery, PageQuery, Schema, api_route, ok, paginate
from medianest.audit import record
from medianest.contributions import PLUGIN_API_VERSION, ConnectionResult
from medianest.extensions import db
from medianest.http import check_base_url
from medianest.models import AuditEvent, ServiceStatus, User
from medianest.pages import page_or_fragment
from medianest.service_recheck import queue_recheck
from medianest.service_settings import (
    MASK,
    SettingsRejected,
    clear_service,
    describe_service,
    merged_values,
    service_config,
    service_definitions,
    update_service,
)

log = logging.getLogger("medianest.admin")

bp = Blueprint("admin", __name__)


# ---------------------------------------------------------------- schemas
class PluginOut(BaseModel):
    name: str
    version: str | None
    hooks: list[str]
    enabled: bool
    state: str
    error: str | None


class PluginPatch(Schema):
    enabled: bool


class UserOut(BaseModel):
    id: int
    username: str
    name: str
    email: str | None
    role: str
    status: str
    plex_id: str | None
    is_local: bool
    created_at: str | None
    last_login_at: str | None


class UserPatch(Schema):
    role: Literal["admin", "user"] | None = None
    status: Literal["active", "suspended"] | None = None


class UserQuery(PageQuery):
    role: Literal["admin", "user"] | None = None
    status: Literal["active", "suspended"] | None = None
    q: str | None = Field(default=None, max_length=100, description="part of the user name or e-mail")


class ServiceField(BaseModel):
    name: str
    label: str
    kind: str
    secret: bool
    required: bool
    help: str
    choices: list[str]
    value: Any = Field(description="secret fields: a mask when set, never the value")
    is_set: bool
    from_env: bool
    env_name: str


class ServiceOut(BaseModel):
    service: str
    title: str
    description: str
    fields: list[ServiceField]
    secret_fields: list[str]
    configured: bool
    testable: bool


class ServicePut(Schema):
    values: dict[str, str | int | float | bool | None] = Field(
        description="field -> value; send the mask back to keep a stored secret"
    )


class ServiceTestIn(Schema):
    values: dict[str, str | int | float | bool | None] = Field(
        default_factory=dict, description="unsaved values to try (the stored ones fill the rest)"
    )


class ConnectionOut(BaseModel):
    ok: bool
    message: str
    details: dict[str, Any]


class AuditOut(BaseModel):
    id: int
    at: str
    actor_id: int | None
    actor: str | None
    action: str
    target: str | None
    details: dict[str, Any]


class AuditQuery(CursorQuery):
    action: str | None = Field(default=None, max_length=100)
    target: str | None = Field(default=None, max_length=255)


# ---------------------------------------------------------------- home
@bp.get("/admin/")
@admin_required
def index():
    """Admin home."""
    return redirect(url_for("admin.users_page"))


# ---------------------------------------------------------------- plugins
def _plugins() -> list[dict]:
    host = current_app.extensions["medianest.plugins"]
    return [info.to_public() for name, info in sorted(host.plugins.items()) if name != "core"]


def _known(name: str) -> None:
    host = current_app.extensions["medianest.plugins"]
    if name == "core" or name not in host.plugins:
        raise ApiError("NOT_FOUND", f"No plugin named {name!r} is installed.")


@bp.get("/admin/plugins")
@admin_required
def plugins_page():
    """Installed plugins, with enable/disable switches."""
    return render_template("admin/plugins.html", plugins=_plugins(), plugin_api=PLUGIN_API_VERSION)


@bp.post("/admin/plugins/<name>")
@admin_required
def plugins_toggle(name: str):
    """Enable or disable a plugin from the page."""
    _known(name)
    set_plugin_enabled(name, request.form.get("enabled") == "1")
    if request.htmx:
        return page_or_fragment("admin/plugins.html", plugins=_plugins(), plugin_api=PLUGIN_API_VERSION)
    return redirect(url_for("admin.plugins_page"))


@bp.get("/api/v1/admin/plugins")
@api_route(response=list[PluginOut], summary="Installed plugins", tags=["admin"])
@admin_required
def api_plugins():
    """Installed plugins with version, hooks and state."""
    return ok(_plugins())


@bp.patch("/api/v1/admin/plugins/<name>")
@api_route(body=PluginPatch, response=PluginOut, summary="Enable or disable a plugin", tags=["admin"])
@admin_required
def api_plugin_patch(name: str, body: PluginPatch):
    """Enable or disable a plugin; kept across restarts."""
    _known(name)
    return ok(set_plugin_enabled(name, body.enabled))


# ---------------------------------------------------------------- users
def _users_select(role: str | None = None, status: str | None = None, q: str | None = None):
    query = db.select(User).order_by(User.username)
    if role:
        query = query.where(User.role == role)
    if status:
        query = query.where(User.status == status)
    if q:
        like = f"%{q.lower()}%"
        query = query.where(
            db.func.lower(User.username).like(like) | db.func.lower(db.func.coalesce(User.email, "")).like(like)
        )
    return query


@bp.get("/admin/users")
@admin_required
def users_page():
    """Everyone who can sign in: promote, demote, suspend, delete."""
    users = list(db.session.scalars(_users_select()))
    return page_or_fragment("admin/users.html", users=users)


def _users_form_answer(change) -> Any:
    """Apply a change from the users page; answer with the refreshed list (htmx) or a redirect."""
    try:
        change()
    except ApiError as exc:
        flash(exc.message, "error")
        return page_or_fragment(
            "admin/users.html", status=exc.status, users=list(db.session.scalars(_users_select())), error=exc
        )
    if request.htmx:
        return page_or_fragment("admin/users.html", users=list(db.session.scalars(_users_select())))
    return redirect(url_for("admin.users_page"))


@bp.post("/admin/users/<int:user_id>")
@admin_required
def users_update(user_id: int):
    """Change a user's role or status from the page."""
    role, status = request.form.get("role") or None, request.form.get("status") or None
    return _users_form_answer(lambda: change_user(current_user, user_id, role=role, status=status))


@bp.post("/admin/users/<int:user_id>/delete")
@admin_required
def users_delete(user_id: int):
    """Delete a user from the page."""
    return _users_form_answer(lambda: delete_user(current_user, user_id))


@bp.get("/api/v1/admin/users")
@api_route(query=UserQuery, response=list[UserOut], paginated=True, summary="Users", tags=["admin"])
@admin_required
def api_users(query: UserQuery):
    """Every user, filtered by role, status or a part of the name."""
    rows, meta = paginate(_users_select(query.role, query.status, query.q), query.page, query.per_page)
    return ok([u.to_public() for u in rows], meta)


@bp.patch("/api/v1/admin/users/<int:user_id>")
@api_route(
    body=UserPatch, response=UserOut, summary="Change a user's role or status", tags=["admin"], errors=(404, 409)
)
@admin_required
def api_user_patch(user_id: int, body: UserPatch):
    """Promote, demote, suspend or reactivate; the user is signed out everywhere at once.

    A suspension also revokes the user's API tokens; reactivation does not bring them back.
    """
    return ok(change_user(current_user, user_id, role=body.role, status=body.status).to_public())


@bp.delete("/api/v1/admin/users/<int:user_id>")
@api_route(response=UserOut, summary="Delete a user", tags=["admin"], errors=(404, 409))
@admin_required
def api_user_delete(user_id: int):
    """Delete a user (their tokens and sessions go with them; plugins remove their files, e.g. downloads)."""
    return ok(delete_user(current_user, user_id))


# ---------------------------------------------------------------- services
def _definition(name: str):
    definition = service_definitions().get(name)
    if definition is None:
        raise ApiError("NOT_FOUND", f"No plugin offers a service named {name!r}.")
    return definition


def _services() -> list[dict]:
    return [describe_service(d) for _, d in sorted(service_definitions().items())]


def _services_page_items() -> list[dict]:
    """Each service's settings, with its last recorded check (what may be wrong with them)."""
    checked = {row.service: row.to_public() for row in db.session.scalars(db.select(ServiceStatus))}
    return [{**item, "last_check": checked.get(item["service"])} for item in _services()]


def _save(name: str, values: dict[str, Any]) -> list[str]:
    definition = _definition(name)
    try:
        changed = update_service(name, values)
    except SettingsRejected as exc:
        labels = {f.name: f.label for f in definition.fields}
        message = "Some settings were not accepted: " + "; ".join(
            f"{labels.get(k, k)}: {v}" for k, v in exc.problems.items()
        )
        if any(v == "Required." for v in exc.problems.values()):
            message += f" To stop using {definition.title}, clear its settings instead."
        raise ApiError(
            "SET_BY_ENVIRONMENT" if all("environment" in m for m in exc.problems.values()) else "VALIDATION_ERROR",
            message,
            details={"fields": [{"field": k, "message": v} for k, v in exc.problems.items()]},
        ) from None
    if changed:
        secret = {f.name for f in definition.fields if f.secret}
        shown = {k: ("changed" if k in secret else values.get(k)) for k in changed}
        record("service.updated", f"service:{name}", {"fields": shown})
        queue_recheck(name)  # the dashboard shows the new state now, not at the next periodic check
    return changed


def _clear(name: str) -> dict[str, Any]:
    definition = _definition(name)
    cleared, from_env = clear_service(name)
    record("service.cleared", f"service:{name}", {"fields": cleared, "kept_from_environment": from_env})
    queue_recheck(name)
    if from_env:
        labels = ", ".join(f.label for f in definition.fields if f.name in from_env)
        message = f"Cleared the saved settings of {definition.title}; the environment still sets {labels}."
    else:
        message = f"Cleared: {definition.title} is no longer configured."
    return {"cleared": cleared, "kept_from_environment": from_env, "message": message}


def _same_url(a: Any, b: Any) -> bool:
    return str(a or "").strip().rstrip("/") == str(b or "").strip().rstrip("/")


def _given(value: Any) -> bool:
    return value not in (None, "", MASK)


def _withhold_saved_secrets(definition: Any, values: dict[str, Any], merged: dict[str, Any]) -> None:
    """A stored secret goes only to the saved URL: testing another URL needs every secret typed again.

    Otherwise an admin (or whoever holds an admin's session) could type a URL
    of their own and receive the stored API key or token.  The secrets not
    given anew are taken out of ``merged``; the outbound ones that were stored
    are named in a ``SECRET_REQUIRED`` error.
    """
    saved = service_config(definition.service, [f.name for f in definition.fields])
    moved = [
        f
        for f in definition.fields
        if f.kind == "url" and _given(values.get(f.name)) and not _same_url(values[f.name], saved.get(f.name))
    ]
    if not moved:
        return
    missing = []
    for f in definition.fields:
        if not f.secret or _given(values.get(f.name)):
            continue
        merged[f.name] = ""
        if saved.get(f.name) and not f.inbound:
            missing.append(f)
    if missing:
        where = ", ".join(f.label for f in moved)
        raise ApiError(
            "SECRET_REQUIRED",
            f"{' and '.join(f.label for f in missing)}: enter it again to test a {where} other than the saved one "
            "(a saved secret is only ever sent to the saved address).",
            details={
                "fields": [{"field": f.name, "message": "Enter it again for this address."} for f in missing],
            },
        )


def _test(name: str, values: dict[str, Any]) -> dict[str, Any]:
    definition = _definition(name)
    if definition.test_connection is None:
        raise ApiError("BAD_REQUEST", f"{definition.title} has no connection test.")

    merged = merged_values(definition, values)
    for f in definition.fields:
        if f.kind == "url" and merged.get(f.name):
            problem = check_base_url(str(merged[f.name]))
            if problem:
                return {"ok": False, "message": f"{f.label}: {problem}", "details": {"field": f.name}}
    _withhold_saved_secrets(definition, values, merged)
    try:
        result = definition.test_connection(merged)
    except ApiError as exc:
        result = ConnectionResult(False, exc.message, {"code": exc.code})
    except Exception as exc:
        log.exception("connection test of %s failed", name)
        result = ConnectionResult(False, f"The test failed: {exc.__class__.__name__}.")
    if not isinstance(result, ConnectionResult):
        result = ConnectionResult(bool(result), "Connected." if result else "The test failed.")
    record("service.tested", f"service:{name}", {"ok": result.ok})
    return {"ok": result.ok, "message": result.message, "details": result.details}


@bp.get("/admin/services")
@admin_required
def services_page():
    """Every plugin's service settings; secrets masked, environment-set fields locked."""
    return page_or_fragment("admin/services.html", services=_services_page_items())


@bp.post("/admin/services/<name>")
@admin_required
def services_save(name: str):
    """Save one service's settings from its form."""
    definition = _definition(name)
    values = {f.name: request.form.get(f.name, "") for f in definition.fields if f.name in request.form}
    for f in definition.fields:  # an unticked checkbox sends nothing
        if f.kind == "bool":
            values[f.name] = "true" if request.form.get(f.name) else "false"
    try:
        changed = _save(name, values)
    except ApiError as exc:
        return page_or_fragment(
            "admin/services.html", status=exc.status, services=_services_page_items(), errors={name: exc.message}
        )
    labels = {f.name: f.label for f in definition.fields}
    saved = f"{definition.title}: saved {', '.join(labels.get(c, c) for c in changed)}."
    notice = {name: saved if changed else f"{definition.title}: nothing changed."}
    if request.htmx:
        response = page_or_fragment("admin/services.html", services=_services_page_items(), notices=notice)
        response.headers["HX-Trigger"] = json.dumps({"medianest.toast": {"level": "success", "message": notice[name]}})
        return response
    flash(notice[name], "success")
    return redirect(url_for("admin.services_page"))


@bp.post("/admin/services/<name>/clear")
@admin_required
def services_clear(name: str):
    """Forget a service's saved settings (after the page's confirmation)."""
    outcome = _clear(name)
    if request.htmx:
        return page_or_fragment(
            "admin/services.html", services=_services_page_items(), notices={name: outcome["message"]}
        )
    flash(outcome["message"], "success")
    return redirect(url_for("admin.services_page"))


@bp.post("/admin/services/<name>/test")
@admin_required
def services_test(name: str):
    """Run the plugin's connection test with the form's values (stored ones fill the rest)."""
    definition = _definition(name)
    values = {f.name: request.form.get(f.name) for f in definition.fields if f.name in request.form}
    try:
        result = _test(name, values)
    except ApiError as exc:
        result = {"ok": False, "message": exc.message, "details": {"code": exc.code, **exc.details}}
    if request.htmx:
        return render_template("admin/connection_result.html", result=result, service=name)
    return page_or_fragment("admin/services.html", services=_services_page_items(), results={name: result})


@bp.get("/api/v1/admin/services")
@api_route(response=list[ServiceOut], summary="Service settings (secrets masked)", tags=["admin"])
@admin_required
def api_services():
    """Every plugin's service settings; a secret comes back as a mask, fields set by the environment say so."""
    return ok(_services())


@bp.put("/api/v1/admin/services/<name>")
@api_route(body=ServicePut, response=ServiceOut, summary="Save a service's settings", tags=["admin"], errors=(404, 409))
@admin_required
def api_service_put(name: str, body: ServicePut):
    """Store settings (encrypted). Send the mask back for a secret to keep it; leave a field out to keep it too."""
    _save(name, dict(body.values))
    return ok(describe_service(_definition(name)))


@bp.delete("/api/v1/admin/services/<name>")
@api_route(response=ServiceOut, summary="Clear a service's settings", tags=["admin"], errors=(404,))
@admin_required
def api_service_clear(name: str):
    """Forget every saved setting of the service: it becomes unconfigured and is checked again at once.

    Fields set by the environment stay set (``fields[].from_env``).
    """
    _clear(name)
    return ok(describe_service(_definition(name)))


@bp.post("/api/v1/admin/services/<name>/test")
@api_route(
    body=ServiceTestIn, response=ConnectionOut, summary="Test a service's connection", tags=["admin"], errors=(400, 404)
)
@admin_required
def api_service_test(name: str, body: ServiceTestIn):
    """Run the plugin's ``test_connection`` with the stored settings, or with unsaved values given here.

    A stored secret is only sent to the saved URL: with another URL, give every secret
    field anew (else ``SECRET_REQUIRED`` names them).
    """
    return ok(_test(name, dict(body.values)))


# ---------------------------------------------------------------- audit
def _audit_select(action: str | None = None, target: str | None = None):
    # Newest first by id (ids grow with time): the order keyset paging walks.
    query = db.select(AuditEvent).order_by(AuditEvent.id.desc())
    if action:
        query = query.where(AuditEvent.action == action)
    if target:
        query = query.where(AuditEvent.target == target)
    return query


@bp.get("/admin/audit")
@admin_required
def audit_page():
    """Who changed which setting, role or status, and when."""
    page = max(1, request.args.get("page", 1, type=int) or 1)
    rows, meta = paginate(_audit_select(), page, 50)
    return page_or_fragment("admin/audit.html", events=[e.to_public() for e in rows], pagination=meta["pagination"])


@bp.get("/api/v1/admin/audit")
@api_route(query=AuditQuery, response=list[AuditOut], paginated=True, summary="Audit log", tags=["admin"])
@admin_required
def api_audit(query: AuditQuery):
    """The audit log, newest first."""
    rows, meta = paginate(
        _audit_select(query.action, query.target), query.page, query.per_page, query.before, AuditEvent.id
    )
    return ok([e.to_public() for e in rows], meta)
