"""What a hook returns: defined in :mod:`medianest.contributions`, which the core reads too."""

from medianest.contributions import (
    ConnectionResult,
    DashboardCard,
    HealthCheck,
    HealthResult,
    NavItem,
    ServiceSettings,
    SettingField,
)

__all__ = [
    "ConnectionResult",
    "DashboardCard",
    "HealthCheck",
    "HealthResult",
    "NavItem",
    "ServiceSettings",
    "SettingField",
]
