"""Overseerr's webhook: strict about who sends it, forgiving about what it looks like.

Every value arrives as a string (``"tmdbId": "603"``), statuses as names
(``"AVAILABLE"``), ``media``/``request`` may be ``null``, and an admin may
have edited the template so that any field is missing.
"""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any

from medianest_overseerr import config
from medianest_overseerr.client import to_int
from medianest_overseerr.media_requests import claim, set_status
from medianest_overseerr.models import FINAL_STATUSES, STAGES, SUBMITTING, MediaRequest

from medianest.plugins.api import ApiError
from medianest.plugins.db import InstallationValue, db

log = logging.getLogger("medianest.overseerr")

# notification_type -> the status the request reaches
STATUS_BY_TYPE = {
    "MEDIA_PENDING": "pending",
    "MEDIA_APPROVED": "approved",
    "MEDIA_AUTO_APPROVED": "approved",
    "MEDIA_AVAILABLE": "available",
    "MEDIA_DECLINED": "declined",
    "MEDIA_FAILED": "failed",
}
# Overseerr's numeric types, for templates that send {{notification_type}} as a number.
TYPE_BY_NUMBER = {
    "2": "MEDIA_PENDING",
    "4": "MEDIA_APPROVED",
    "8": "MEDIA_AVAILABLE",
    "16": "MEDIA_FAILED",
    "32": "TEST_NOTIFICATION",
    "64": "MEDIA_DECLINED",
    "128": "MEDIA_AUTO_APPROVED",
}
LAST_TEST_KEY = "overseerr.webhook.last_test"


@dataclass
class Outcome:
    """What the webhook did, answered to Overseerr (and readable in its logs)."""

    notification_type: str
    result: str  # "updated" | "unchanged" | "ignored" | "test"
    request_ids: list[int]
    note: str = ""

    def to_public(self) -> dict[str, Any]:
        return {
            "notification_type": self.notification_type,
            "result": self.result,
            "request_ids": self.request_ids,
            "note": self.note,
        }


def authenticate(header: str | None) -> None:
    """The ``Authorization`` header must be the secret, or ``Bearer <secret>`` (compared in constant time)."""
    secret = config.webhook_secret(generate=False)
    if not header:
        raise ApiError("AUTH_REQUIRED", "Send the webhook secret in the Authorization header.")
    if not secret:
        raise ApiError("INVALID_TOKEN", "No webhook secret is configured in MediaNest yet.")
    given = header.strip().encode()
    plain = hmac.compare_digest(given, secret.encode())
    bearer = hmac.compare_digest(given, f"Bearer {secret}".encode())
    if not (plain or bearer):
        raise ApiError("INVALID_TOKEN", "The Authorization header does not carry MediaNest's webhook secret.")


def parse(raw: bytes) -> dict[str, Any]:
    """The JSON object of the body, or a 400."""
    try:
        payload = json.loads(raw.decode("utf-8-sig") or "null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError("INVALID_JSON", f"The webhook body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise ApiError("VALIDATION_ERROR", "The webhook body must be a JSON object (Overseerr's default JSON payload).")
    return payload


def _section(payload: dict[str, Any], name: str) -> dict[str, Any]:
    value = payload.get(name)
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def notification_type_of(payload: dict[str, Any]) -> str:
    kind = _text(payload.get("notification_type") or payload.get("notificationType")).upper()
    return TYPE_BY_NUMBER.get(kind, kind)


def handle(payload: dict[str, Any]) -> Outcome:
    kind = notification_type_of(payload)
    if kind == "TEST_NOTIFICATION":
        from medianest.plugins.db import utcnow

        row = db.session.get(InstallationValue, LAST_TEST_KEY)
        now = utcnow().isoformat() + "Z"
        if row is None:
            db.session.add(InstallationValue(key=LAST_TEST_KEY, value=now))
        else:
            row.value = now
        db.session.commit()
        log.info("Overseerr's test notification received")
        return Outcome(kind, "test", [], "MediaNest received Overseerr's test notification.")

    status = STATUS_BY_TYPE.get(kind)
    if status is None:
        log.info("webhook %s ignored: MediaNest does not follow this notification type", kind or "(no type)")
        return Outcome(kind, "ignored", [], "MediaNest does not follow this notification type.")

    records = _matching_records(payload)
    if not records:
        log.info(
            "webhook %s ignored: no MediaNest request matches (request %r, media %r %r)",
            kind,
            _section(payload, "request").get("request_id"),
            _section(payload, "media").get("media_type"),
            _section(payload, "media").get("tmdbId"),
        )
        return Outcome(kind, "ignored", [], "No request made through MediaNest matches.")
    late = [r for r in records if STAGES.get(status, 0) < STAGES.get(r.status, 0)]
    for record in late:
        log.info(
            "webhook %s for request %s ignored: it is already %s (an older delivery)", kind, record.id, record.status
        )
        record.synced_at = None  # the next reconcile asks Overseerr about this one first
    db.session.commit()
    changed = [r.id for r in records if r not in late and set_status(r, status, f"webhook {kind}")]
    note = "An older delivery: the request is already further along." if late and not changed else ""
    return Outcome(kind, "updated" if changed else "unchanged", [r.id for r in records], note)


def _matching_records(payload: dict[str, Any]) -> list[MediaRequest]:
    """The request named by ``request.request_id``; without one, open requests of the named media."""
    request_id = to_int(_section(payload, "request").get("request_id") or payload.get("request_id"))
    media = _section(payload, "media")
    tmdb_id = to_int(media.get("tmdbId") or media.get("tmdb_id"))
    media_type = _text(media.get("media_type") or media.get("mediaType")).lower()
    if request_id is not None:
        row = db.session.scalar(db.select(MediaRequest).where(MediaRequest.overseerr_id == request_id))
        if row is None and tmdb_id is not None:
            # The creation's webhook leaves Overseerr before its answer to MediaNest (or after
            # MediaNest stopped waiting): the row sent for this title takes the id.
            row = db.session.scalar(
                db.select(MediaRequest)
                .where(
                    MediaRequest.status == SUBMITTING,
                    MediaRequest.overseerr_id.is_(None),
                    MediaRequest.media_type == media_type,
                    MediaRequest.tmdb_id == tmdb_id,
                )
                .order_by(MediaRequest.id)
            )
            if row is not None:
                claim(row, request_id)
        return [row] if row is not None else []
    if tmdb_id is None or media_type not in ("movie", "tv"):
        return []
    return list(
        db.session.scalars(
            db.select(MediaRequest).where(
                MediaRequest.media_type == media_type,
                MediaRequest.tmdb_id == tmdb_id,
                MediaRequest.status.not_in(FINAL_STATUSES),
            )
        )
    )


def last_test() -> str | None:
    try:
        return InstallationValue.get(LAST_TEST_KEY)
    except Exception:
        db.session.rollback()
        return None
