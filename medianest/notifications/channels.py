"""Notification channels: Apprise URLs a person (or, for the household, an admin) adds, stored encrypted."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from medianest.api import ApiError
from medianest.extensions import db
from medianest.models import NotificationChannel
from medianest.notifications.inbox import ADMIN_KINDS, KINDS

URL_PURPOSE = NotificationChannel.URL_PURPOSE
# Schemes whose Apprise service does not speak HTTP(S): their connections could
# not pass the egress guard's proxy, so they are refused rather than let through.
NOT_HTTP = frozenset(
    {"mailto", "mailtos", "mqtt", "mqtts", "syslog", "rsyslog", "growl", "gnome", "kde", "dbus", "qt", "glib"}
    | {"macosx", "windows", "sns", "ses", "smpp", "smpps", "xmpp", "xmpps", "irc", "ircs", "rsyslogs"}
)
HOUSEHOLD_KINDS = ("service.down", "service.up")
MAX_CHANNELS = 20


def _keyring():
    return current_app.extensions["medianest.keyring"]


def check_url(url: str) -> str:
    """A URL Apprise understands and whose service speaks HTTP; raises ``ApiError``."""
    url = (url or "").strip()
    scheme = urlsplit(url).scheme.lower()
    if not scheme or len(url) > 2000:
        raise ApiError("CHANNEL_URL_INVALID", "Give an Apprise URL, such as ntfys://ntfy.sh/my-topic.")
    if scheme in NOT_HTTP:
        raise ApiError(
            "CHANNEL_NOT_SUPPORTED",
            f"{scheme}:// channels are not supported: MediaNest only sends over HTTP(S), "
            "where every connection passes its egress guard.",
        )
    # Imported here, not at start: Apprise costs every process time and memory at start-up
    # (the budgets of bench/household_budgets.py); only adding a channel asks it here.
    import apprise

    if not apprise.Apprise().add(url):
        raise ApiError(
            "CHANNEL_URL_INVALID", "Apprise does not understand this URL; see its list of services and their URLs."
        )
    return url


def masked(url: str) -> str:
    """What the page shows of a stored URL: the service, never its tokens."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}…" if parts.hostname else f"{parts.scheme}://…"


def url_of(channel: NotificationChannel) -> str:
    return _keyring().decrypt(channel.url_ciphertext, URL_PURPOSE)


def allowed_kinds(household: bool, is_admin: bool) -> list[str]:
    if household:
        return list(HOUSEHOLD_KINDS)
    return [k for k in KINDS if is_admin or k not in ADMIN_KINDS]


def _kinds(kinds: list[str] | None, household: bool, is_admin: bool) -> list[str]:
    allowed = allowed_kinds(household, is_admin)
    if kinds is None:
        return allowed
    unknown = sorted(set(kinds) - set(allowed))
    if unknown:
        raise ApiError(
            "VALIDATION_ERROR", f"Unknown kinds for this channel: {', '.join(unknown)}.", details={"allowed": allowed}
        )
    return [k for k in allowed if k in kinds]


def channels_of(user_id: int | None) -> list[NotificationChannel]:
    owner = NotificationChannel.user_id.is_(None) if user_id is None else NotificationChannel.user_id == user_id
    return list(db.session.scalars(select(NotificationChannel).where(owner).order_by(NotificationChannel.id)))


def get_channel(user_id: int | None, channel_id: int) -> NotificationChannel:
    """One of this owner's channels (``None``: the household's); another's is ``404``."""
    row = db.session.get(NotificationChannel, channel_id)
    if row is None or row.user_id != user_id:
        raise ApiError("NOT_FOUND", "No such channel.")
    return row


def add_channel(
    user_id: int | None, name: str, url: str, kinds: list[str] | None, is_admin: bool
) -> NotificationChannel:
    name = (name or "").strip()[:100]
    if not name:
        raise ApiError("VALIDATION_ERROR", "Give the channel a name.")
    if len(channels_of(user_id)) >= MAX_CHANNELS:
        raise ApiError("CONFLICT", f"At most {MAX_CHANNELS} channels; remove one first.")
    url = check_url(url)
    row = NotificationChannel(
        user_id=user_id,
        name=name,
        url_ciphertext=_keyring().encrypt(url, URL_PURPOSE),
        kinds=_kinds(kinds, user_id is None, is_admin),
        enabled=True,
        failures=0,
    )
    db.session.add(row)
    db.session.commit()
    return row


def change_channel(
    row: NotificationChannel, kinds: list[str] | None, enabled: bool | None, is_admin: bool
) -> NotificationChannel:
    if kinds is not None:
        row.kinds = _kinds(kinds, row.user_id is None, is_admin)
    if enabled is not None:
        row.enabled = enabled
    db.session.commit()
    return row


def remove_channel(row: NotificationChannel) -> None:
    db.session.delete(row)
    db.session.commit()


def channel_public(row: NotificationChannel) -> dict[str, Any]:
    try:
        shown = masked(url_of(row))
    except ValueError:
        shown = "(cannot be read with the current key)"
    return {
        "id": row.id,
        "name": row.name,
        "url": shown,
        "kinds": list(row.kinds or []),
        "enabled": row.enabled,
        "household": row.user_id is None,
        "state": "failing" if row.failures else "ok",
        "failures": row.failures,
        "last_error": row.last_error,
        "last_failed_at": row.last_failed_at.isoformat() + "Z" if row.last_failed_at else None,
        "last_sent_at": row.last_sent_at.isoformat() + "Z" if row.last_sent_at else None,
    }
