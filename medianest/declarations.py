"""What plugins declare to the core instead of the core knowing them.

Error codes with their HTTP status, named rate limits with their settings,
folders a backup carries, and the Plex Media Server that Plex sign-in checks
against: each comes from a hook (``medianest.plugins.hookspecs``), so the core
never names a plugin and a third-party plugin gets the same treatment as a
built-in one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from limits import parse_many

from medianest.json_answers import ERROR_CODES, ApiError
from medianest.settings import SettingsError, environment_value

RATE_LIMITS = "medianest.rate_limits"
# A backup folder's name inside the archive; the archive's own parts are taken.
FOLDER_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
ARCHIVE_NAMES = {"database", "instance", "manifest.json"}


@dataclass(frozen=True)
class ErrorCode:
    """A stable error code a plugin answers with, and its HTTP status.

    ``ApiError(code, message)`` then answers with ``status`` unless given
    another; the code appears in the OpenAPI document's list.  A code the core
    or an earlier plugin already declared with another status is refused.
    """

    code: str
    status: int
    description: str = ""


@dataclass(frozen=True)
class RateLimit:
    """A named rate limit, in Flask-Limiter's notation (``"5/hour"``).

    The admin overrides ``default`` with ``MEDIANEST_RATE_LIMIT_<NAME>`` (or
    its ``_FILE`` twin); a view applies it with
    ``@limiter.limit(lambda: rate_limit_value("<name>"))``.
    """

    name: str
    default: str
    description: str = ""

    @property
    def setting(self) -> str:
        return f"MEDIANEST_RATE_LIMIT_{self.name.upper()}"


@dataclass(frozen=True)
class BackupFolder:
    """A folder outside the database that ``medianest backup --include-downloads`` archives.

    ``path()`` is called in an app context when a backup or restore runs (the
    folder may come from a service setting); ``name`` is the folder's name
    inside the archive, so it must stay the same between versions.
    """

    name: str
    path: Callable[[], Any]
    description: str = ""


@dataclass(frozen=True)
class SignInServer:
    """The Plex Media Server whose users may sign in with Plex.

    ``service`` names the settings it came from (used for the HTTP client's
    circuit breaker and in error details).
    """

    url: str
    token: str
    service: str


class ErrorCodeTaken(ValueError):
    """A code already declared with another HTTP status."""


def declare_error_code(code: str, status: int) -> None:
    """Add a plugin's code to the table ``ApiError`` reads; the same code with the same status is no change."""
    known = ERROR_CODES.get(code)
    if known is not None and known != status:
        raise ErrorCodeTaken(f"error code {code} is already declared with HTTP status {known}")
    ERROR_CODES[code] = status


def init_app(app: Flask) -> None:
    """Read every installed plugin's error codes and rate limits once, at start."""
    host = app.extensions["medianest.plugins"]
    with app.app_context():
        codes = host.in_load_order(host.collect_installed("error_codes"))
        limits = host.in_load_order(host.collect_installed("rate_limits"))
    for plugin, declared in codes:
        if not isinstance(declared, ErrorCode):
            host.fail(plugin, f"error_codes returned {type(declared).__name__}, not an ErrorCode")
            continue
        try:
            declare_error_code(declared.code, declared.status)
        except ErrorCodeTaken as exc:
            host.fail(plugin, str(exc))
    values: dict[str, str] = {}
    owners: dict[str, str] = {}
    for plugin, declared in limits:
        if not isinstance(declared, RateLimit):
            host.fail(plugin, f"rate_limits returned {type(declared).__name__}, not a RateLimit")
            continue
        if declared.name in owners and owners[declared.name] != plugin:
            host.fail(plugin, f"rate limit {declared.name!r} is already declared by {owners[declared.name]!r}")
            continue
        owners[declared.name] = plugin
        values[declared.name] = _configured_limit(declared)
    app.extensions[RATE_LIMITS] = values


def _configured_limit(declared: RateLimit) -> str:
    value = _environment(declared.setting) or declared.default
    try:
        parse_many(value)
    except ValueError:
        raise SettingsError(
            f"setting {declared.setting}: {value!r} is not a rate limit (for example 5/hour or 10 per 15 minutes)"
        ) from None
    return value


def _environment(name: str) -> str | None:
    """``NAME``, or the contents of the file ``NAME_FILE`` names; an empty value is no value."""
    return environment_value(name) or None


def rate_limit_value(name: str) -> str:
    """The rate a declared limit has in this installation (its setting, else its default)."""
    try:
        return current_app.extensions[RATE_LIMITS][name]
    except KeyError:
        raise LookupError(f"no plugin declares a rate limit named {name!r} (the rate_limits hook)") from None


def backup_folders(app: Flask) -> list[tuple[BackupFolder, Path]]:
    """Every installed plugin's backup folders with where they are now (in an app context).

    A plugin whose folder cannot say where it is is refused (and logged as
    such), and its folder left out; the rest of the backup goes on.
    """
    host = app.extensions["medianest.plugins"]
    found = []
    taken: set[str] = set()
    for plugin, folder in host.in_load_order(host.collect_installed("backup_folders")):
        if not isinstance(folder, BackupFolder) or not FOLDER_NAME.fullmatch(folder.name):
            host.fail(plugin, f"backup_folders returned {folder!r}: a BackupFolder with a name like 'downloads'")
            continue
        if folder.name in ARCHIVE_NAMES or folder.name in taken:
            host.fail(plugin, f"backup folder name {folder.name!r} is already used in the archive")
            continue
        try:
            where = Path(folder.path()).expanduser().resolve()
        except Exception as exc:  # the other folders and the database are still archived
            host.fail(plugin, f"backup folder {folder.name!r}: path() raised {exc.__class__.__name__}: {exc}", exc)
            continue
        taken.add(folder.name)
        found.append((folder, where))
    return found


def sign_in_server() -> dict[str, Any] | None:
    """The Plex Media Server sign-in checks against, as ``{url, token, service}``; ``None`` when none is set.

    Every installed plugin is asked, enabled or not: switching a plugin off must
    not open sign-in to every Plex account.  For the same reason a plugin that
    failed while answering closes sign-in instead of opening it.
    """
    host = current_app.extensions["medianest.plugins"]
    for _plugin, server in host.call_installed("sign_in_server"):
        if isinstance(server, SignInServer) and server.url and server.token:
            return {"url": server.url, "token": server.token, "service": server.service}
    broken = [info.name for info in host.plugins.values() if "sign_in_server" in info.hooks and info.error]
    if broken:
        raise ApiError(
            "SERVICE_UNAVAILABLE",
            "MediaNest can't tell which Plex server is configured, so it can't check who may sign in. "
            "Try again shortly.",
            503,
            {"plugins": broken},
        )
    return None
