"""The public face of the plugin contract.

A plugin imports what it needs from here and from the documented submodules,
and from nothing else in MediaNest::

    from medianest.plugins import hookimpl, DashboardCard, HealthCheck, publish
    from medianest.plugins.api import ApiError, api_route, ok
    from medianest.plugins.access import login_required
    from medianest.plugins.db import db, User
    from medianest.plugins.http import ServiceClient, json_of
    from medianest.plugins.events import publish, notify
    from medianest.plugins.settings import service_config

``PLUGIN_API_VERSION`` is this contract's version; a plugin requires a range
of it with ``PLUGIN_API = ">=1,<2"`` on its entry-point object.  See
``docs/plugins.md`` for every hook and every name.
"""

import pluggy

from medianest.egress import EgressPolicy, EgressProxy, EgressRefused, parse_allowed_network
from medianest.events import publish
from medianest.plex_identifier import plex_client_identifier
from medianest.plugins.hookspecs import PLUGIN_API_VERSION, hookspec
from medianest.plugins.types import (
    BackupFolder,
    ConnectionResult,
    DashboardCard,
    ErrorCode,
    HealthCheck,
    HealthResult,
    NavItem,
    RateLimit,
    ServiceSettings,
    SettingField,
    SignInServer,
)

hookimpl = pluggy.HookimplMarker("medianest")

__all__ = [
    "PLUGIN_API_VERSION",
    "BackupFolder",
    "ConnectionResult",
    "DashboardCard",
    "EgressPolicy",
    "EgressProxy",
    "EgressRefused",
    "ErrorCode",
    "HealthCheck",
    "HealthResult",
    "NavItem",
    "RateLimit",
    "ServiceSettings",
    "SettingField",
    "SignInServer",
    "hookimpl",
    "hookspec",
    "parse_allowed_network",
    "plex_client_identifier",
    "publish",
]
