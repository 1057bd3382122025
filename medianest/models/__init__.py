"""The core's tables. Plugins keep theirs in their own packages."""

from medianest.models.audit import AuditEvent
from medianest.models.installation import InstallationValue
from medianest.models.plugin_state import PluginState
from medianest.models.service import ServiceCheck, ServiceSetting, ServiceStatus
from medianest.models.user import ApiToken, User, utcnow

__all__ = [
    "ApiToken",
    "AuditEvent",
    "InstallationValue",
    "PluginState",
    "ServiceCheck",
    "ServiceSetting",
    "ServiceStatus",
    "User",
    "utcnow",
]
