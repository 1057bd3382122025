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
