"""A plugin that declares what the core needs from it: an error code, a rate limit, a backup folder.

It also has a view without an access rule (served to signed-in users only)
and a service with a password field that does not say ``secret``.
"""

from pathlib import Path

from flask import Blueprint

from medianest.plugins import (
    BackupFolder,
    ErrorCode,
    RateLimit,
    ServiceSettings,
    SettingField,
    hookimpl,
)
from medianest.plugins.access import limiter, login_required, rate_limit_value
from medianest.plugins.api import ApiError, api_route, ok
from medianest.plugins.settings import data_dir

PLUGIN_API = ">=1,<2"

bp = Blueprint("declaretest", __name__)


@bp.get("/declaretest/forgotten")
def forgotten():
    """A page whose author forgot the access rule."""
    return "the forgotten page"


@bp.get("/api/v1/declaretest/teapot")
@api_route(summary="Always refuses with the plugin's own code")
@login_required
def teapot():
    raise ApiError("DECLARETEST_TEAPOT", "This plugin is a teapot.")


@bp.post("/api/v1/declaretest/brew")
@limiter.limit(lambda: rate_limit_value("declaretest_brew"))
@api_route(summary="Limited by the plugin's named rate limit")
@login_required
def brew():
    return ok({"brewed": True})


def files() -> Path:
    return data_dir() / "declaretest-files"


@hookimpl
def register_blueprints(app):
    return [bp]


@hookimpl
def error_codes():
    return [ErrorCode("DECLARETEST_TEAPOT", 418, "the plugin's own refusal")]


@hookimpl
def rate_limits():
    return [RateLimit("declaretest_brew", "3/hour", "brews per person")]


@hookimpl
def backup_folders():
    return [BackupFolder("declaretest-files", files, "the plugin's files")]


@hookimpl
def service_settings():
    return [
        ServiceSettings(
            "declaretest",
            "Declare test",
            (SettingField("url", "URL", kind="url"), SettingField("password", "Password", kind="password")),
        )
    ]
