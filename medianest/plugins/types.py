"""What a hook returns: defined in :mod:`medianest.contributions`, which the core reads too."""

from medianest.contributions import (
    ConnectionResult,
    DashboardCard,
    HealthCheck,
    HealthResult,
    MediaItem,
    NavItem,
    ServiceSettings,
    SettingField,
)

# Declarations a plugin makes to the core: defined beside the code that reads them.
from medianest.declarations import BackupFolder, ErrorCode, RateLimit, SignInServer

__all__ = [
    "BackupFolder",
    "ConnectionResult",
    "DashboardCard",
    "ErrorCode",
    "HealthCheck",
    "HealthResult",
    "MediaItem",
    "NavItem",
    "RateLimit",
    "ServiceSettings",
    "SettingField",
    "SignInServer",
]
