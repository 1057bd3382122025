"""The public face of the plugin contract.

A plugin imports what it needs from here::

    from medianest.plugins import hookimpl, DashboardCard, HealthCheck, publish, notify

``notify(user_id, message, level, link, kind)`` puts a line in a person's
inbox (everyone's for ``user_id=None``), shows it live, and sends it to the
person's channels that take ``kind`` (name your kinds ``<plugin>.<what>``).

See ``docs/plugins.md`` for every hook, with its signature and an example.
"""

import pluggy

from medianest.egress import EgressPolicy, EgressProxy, EgressRefused, parse_allowed_network
from medianest.events import notify, publish
from medianest.plex_identifier import plex_client_identifier
from medianest.plugins.hookspecs import hookspec
from medianest.plugins.types import (
    ConnectionResult,
    DashboardCard,
    HealthCheck,
    HealthResult,
    MediaItem,
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
    "HealthCheck",
    "HealthResult",
    "MediaItem",
    "NavItem",
    "ServiceSettings",
    "SettingField",
    "hookimpl",
    "hookspec",
    "notify",
    "parse_allowed_network",
    "plex_client_identifier",
    "publish",
]
