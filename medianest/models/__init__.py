"""The core's tables. Plugins keep theirs in their own packages."""

from medianest.models.audit import AuditEvent
from medianest.models.installation import InstallationValue
from medianest.models.invite import Invite
from medianest.models.notification import Notification, NotificationChannel
from medianest.models.plugin_state import PluginState
from medianest.models.service import ServiceAnswer, ServiceCheck, ServiceSetting, ServiceStatus
from medianest.models.user import ApiToken, RememberToken, User, UserSession, utcnow

__all__ = [
    "ApiToken",
    "AuditEvent",
    "InstallationValue",
    "Invite",
    "Notification",
    "NotificationChannel",
    "PluginState",
    "RememberToken",
    "ServiceAnswer",
    "ServiceCheck",
    "ServiceSetting",
    "ServiceStatus",
    "User",
    "UserSession",
    "utcnow",
]
