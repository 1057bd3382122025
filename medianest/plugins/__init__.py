"""The public face of the plugin contract.

A plugin imports what it needs from here::

    from medianest.plugins import hookimpl, DashboardCard, HealthCheck, publish

See ``docs/plugins.md`` for every hook, with its signature and an example.
"""

import pluggy

from medianest.egress import EgressPolicy, EgressProxy, EgressRefused, parse_allowed_network
from medianest.events import Event, EventPayload, publish
from medianest.plex_identifier import plex_client_identifier
from medianest.plugins.hookspecs import hookspec
from medianest.plugins.types import (
    ConnectionResult,
    DashboardCard,
    HealthCheck,
    HealthResult,
    NavItem,
    ServiceSettings,
    SettingField,
)

hookimpl = pluggy.HookimplMarker("medianest")

__all__ = [
    "ConnectionResult",
    "DashboardCard",
    "EgressPolicy",
    "EgressProxy",
    "EgressRefused",
    "Event",
    "EventPayload",
    "HealthCheck",
    "HealthResult",
    "NavItem",
    "ServiceSettings",
    "SettingField",
    "hookimpl",
    "hookspec",
    "parse_allowed_network",
    "plex_client_identifier",
    "publish",
]

# What a plugin's pages, JSON routes, tables and service calls use most, so
# that a plugin needs no other MediaNest module (docs/plugins.md).
from medianest.access import admin_required, login_required, public  # noqa: E402
from medianest.api import ApiError, Schema, api_route, ok  # noqa: E402
from medianest.events import notify  # noqa: E402
from medianest.extensions import db  # noqa: E402
from medianest.http import ServiceClient, ServiceError, json_of  # noqa: E402
from medianest.models import utcnow  # noqa: E402
from medianest.services import service_config  # noqa: E402

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
