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

``notify(user_id, message, level, link, kind)`` puts a line in a person's
inbox (everyone's for ``user_id=None``), shows it live, and sends it to the
person's channels that take ``kind`` (name your kinds ``<plugin>.<what>``).

``PLUGIN_API_VERSION`` is this contract's version; a plugin requires a range
of it with ``PLUGIN_API = ">=1,<2"`` on its entry-point object.  See
``docs/hooks.md`` for every hook and ``docs/plugins.md`` for every name.
"""

import pluggy

from medianest.access import admin_required, login_required, public
from medianest.api import ApiError, Schema, api_route, ok
from medianest.egress import EgressPolicy, EgressProxy, EgressRefused, parse_allowed_network
from medianest.events import Event, EventPayload, notify, publish
from medianest.http import ServiceClient, ServiceError, json_of
from medianest.models import utcnow
from medianest.plex_identifier import plex_client_identifier

# The submodule ``medianest.plugins.db`` is loaded here, before the name ``db`` is bound to the
# database handle: a submodule loaded later would replace the package's ``db`` with itself.
from medianest.plugins.db import db
from medianest.plugins.hookspecs import PLUGIN_API_VERSION, hookspec
from medianest.plugins.types import (
    BackupFolder,
    ConnectionResult,
    DashboardCard,
    ErrorCode,
    HealthCheck,
    HealthResult,
    MediaItem,
    NavItem,
    RateLimit,
    ServiceSettings,
    SettingField,
    SignInServer,
)
from medianest.service_settings import service_config

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
    "Event",
    "EventPayload",
    "HealthCheck",
    "HealthResult",
    "MediaItem",
    "NavItem",
    "RateLimit",
    "ServiceSettings",
    "SettingField",
    "SignInServer",
    "hookimpl",
    "hookspec",
    "notify",
    "parse_allowed_network",
    "plex_client_identifier",
    "publish",
]

# What a plugin's pages, JSON routes, tables and service calls use most, so
# that a plugin needs no other MediaNest module (docs/plugins.md).
__all__ += [
    "ApiError",
    "Schema",
    "ServiceClient",
    "ServiceError",
    "admin_required",
    "api_route",
    "db",
    "json_of",
    "login_required",
    "notify",
    "ok",
    "public",
    "service_config",
    "utcnow",
]
