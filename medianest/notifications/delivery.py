"""Sending notifications out through Apprise channels, as background tasks with retries.

Each notification a person gets is queued once per channel of theirs that
takes its kind; an outage also goes to the household's channel.  A delivery
runs Apprise in a child process whose every connection goes through an
:class:`~medianest.egress.EgressProxy`: any public host, and private
addresses only where ``MEDIANEST_NOTIFY_ALLOWED_PRIVATE`` lists them.  A
failed attempt is retried with growing delays; when the retries are spent
the channel is marked failing with the last error (the next success clears
it), so nothing is dropped without a word.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from typing import Any

from celery import shared_task
from flask import current_app
from sqlalchemy import select

from medianest.egress import EgressPolicy, EgressProxy
from medianest.extensions import db
from medianest.models import NotificationChannel, User, utcnow
from medianest.notifications import channels

log = logging.getLogger("medianest.notifications")

MAX_RETRIES = 3
SEND_TIMEOUT = 60.0  # seconds for one attempt, Apprise's own timeouts included
TITLES = {"error": "MediaNest: problem", "warning": "MediaNest: attention", "success": "MediaNest", "info": "MediaNest"}


class DeliveryFailed(Exception):
    """One attempt did not reach the service; ``str()`` says why, for the person."""


def backoff(retries: int) -> int:
    """Seconds before retry ``retries + 1``: 10, 40, 160..."""
    return 10 * 4**retries


def policy() -> EgressPolicy:
    allowed = current_app.config["MEDIANEST"].notify_allowed_private
    return EgressPolicy(["*"], [e.strip() for e in allowed.split(",") if e.strip()])


def send(url: str, title: str, body: str, level: str = "info") -> None:
    """One attempt through the egress guard; raises :class:`DeliveryFailed`."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy", "http_proxy", "https_proxy")}
    with EgressProxy(policy(), timeout=SEND_TIMEOUT) as proxy:
        env.update(HTTP_PROXY=proxy.url, HTTPS_PROXY=proxy.url, http_proxy=proxy.url, https_proxy=proxy.url)
        try:
            done = subprocess.run(
                [sys.executable, "-m", "medianest.notifications.sender"],
                input=json.dumps({"url": url, "title": title, "body": body, "level": level}),
                capture_output=True,
                text=True,
                env=env,
                timeout=SEND_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise DeliveryFailed(f"No answer within {SEND_TIMEOUT:.0f} seconds.") from None
        refused = proxy.refusals_since(0)
    if refused:
        raise DeliveryFailed(f"Refused by the egress guard: {refused[-1].message}.")
    if done.returncode != 0:
        reason = done.stdout.strip() or done.stderr.strip().splitlines()[-1:] or ["Apprise failed."]
        raise DeliveryFailed(reason if isinstance(reason, str) else reason[0])


@shared_task(bind=True, name="medianest.deliver_notification", max_retries=MAX_RETRIES, ignore_result=True)
def deliver_notification(self, channel_id: int, title: str, body: str, level: str = "info") -> None:
    """Deliver one message to one channel; retried with backoff, then the channel is marked failing."""
    channel = db.session.get(NotificationChannel, channel_id)
    if channel is None or not channel.enabled:
        return
    try:
        send(channels.url_of(channel), title, body, level)
    except (DeliveryFailed, ValueError) as exc:
        if self.request.retries < self.max_retries:
            log.info("channel %s: attempt %s failed (%s); trying again", channel_id, self.request.retries + 1, exc)
            raise self.retry(countdown=backoff(self.request.retries)) from None
        channel.failures = (channel.failures or 0) + 1
        channel.last_error = str(exc)[:2000]
        channel.last_failed_at = utcnow()
        db.session.commit()
        log.warning("channel %s failing after %s attempts: %s", channel_id, self.max_retries + 1, exc)
        return
    channel.failures = 0
    channel.last_error = None
    channel.last_sent_at = utcnow()
    db.session.commit()


def _queue(channel_id: int, message: str, level: str) -> None:
    try:
        deliver_notification.delay(channel_id, TITLES.get(level, "MediaNest"), message, level)
    except Exception:  # the broker is away: the inbox still has it
        log.exception("could not queue a delivery to channel %s", channel_id)


def send_out(payload: dict[str, Any]) -> None:
    """The bus handler of ``notification``: queue one delivery per channel that takes its kind."""
    message = str(payload.get("message") or "").strip()
    if not message:
        return
    kind = str(payload.get("kind") or "message")
    level = str(payload.get("level") or "info")
    owner = NotificationChannel.user_id.in_(
        select(User.id).where(User.status == "active")
        if payload.get("user_id") is None
        else select(User.id).where(User.id == payload["user_id"], User.status == "active")
    )
    rows = db.session.scalars(select(NotificationChannel).where(owner, NotificationChannel.enabled.is_(True)))
    for row in rows:
        if kind in (row.kinds or []):
            _queue(row.id, message, level)


def send_to_household(kind: str, message: str, level: str) -> None:
    """An outage, once, to the household's channels that take it."""
    for row in channels.channels_of(None):
        if row.enabled and kind in (row.kinds or []):
            _queue(row.id, message, level)


def send_test(channel: NotificationChannel, who: str) -> None:
    """The "send a test" button: queued like any delivery, so its outcome shows on the channel."""
    _queue(channel.id, f"A test from MediaNest, sent by {who}. This channel works.", "info")
