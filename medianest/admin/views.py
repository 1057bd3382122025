"""Admin: plugins (and, with the identity work, users, services and the audit log)."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from pydantic import BaseModel

from medianest.access import admin_required
from medianest.admin.plugins import set_plugin_enabled
from medianest.api import ApiError, Schema, api_route, ok

bp = Blueprint("admin", __name__)


class PluginOut(BaseModel):
    name: str
    version: str | None
    hooks: list[str]
    enabled: bool
    state: str
    error: str | None


class PluginPatch(Schema):
    enabled: bool


def _plugins() -> list[dict]:
    host = current_app.extensions["medianest.plugins"]
    return [info.to_public() for name, info in sorted(host.plugins.items()) if name != "core"]


def _known(name: str) -> None:
    host = current_app.extensions["medianest.plugins"]
    if name == "core" or name not in host.plugins:
        raise ApiError("NOT_FOUND", f"No plugin named {name!r} is installed.")


@bp.get("/admin/")
@admin_required
def index():
    """Admin home."""
    return redirect(url_for("admin.plugins_page"))


@bp.get("/admin/plugins")
@admin_required
def plugins_page():
    """Installed plugins, with enable/disable switches."""
    return render_template("admin/plugins.html", plugins=_plugins())


@bp.post("/admin/plugins/<name>")
@admin_required
def plugins_toggle(name: str):
    """Enable or disable a plugin from the page."""
    _known(name)
    set_plugin_enabled(name, request.form.get("enabled") == "1")
    if request.headers.get("HX-Request"):
        return render_template("admin/plugins.html", plugins=_plugins(), fragment=True)
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
