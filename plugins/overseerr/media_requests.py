"""Requesting a film or series on a user's behalf, and keeping each request's status current."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import url_for
from medianest_overseerr import answer_cache, config
from medianest_overseerr.client import (
    PERM_ADMIN,
    PERM_AUTO_APPROVE,
    PERM_AUTO_APPROVE_MOVIE,
    PERM_AUTO_APPROVE_TV,
    PERM_MANAGE_REQUESTS,
    OverseerrClient,
    plex_url_of,
    request_state,
    to_id,
    to_int,
)
from medianest_overseerr.models import FINAL_STATUSES, STAGES, SUBMITTING, MediaRequest
from sqlalchemy import and_, or_

from medianest.plugins.api import ApiError
from medianest.plugins.db import ServiceStatus, User, db, utcnow
from medianest.plugins.events import notify, publish
from medianest.plugins.http import ServiceBadAnswer, ServiceError, ServiceTimeout, ServiceUnauthorized

log = logging.getLogger("medianest.overseerr")

# A request whose sending got no answer: its webhook or answer usually comes within this,
# after which the reconcile looks for it in Overseerr, and gives up after the second.
UNANSWERED_GRACE = timedelta(seconds=30)
UNANSWERED_GIVE_UP = timedelta(minutes=15)
# Overseerr links a title only once Plex has it, sometimes a little after it says "available"
# (the webhook carries no link): the reconcile keeps asking about an available request with
# no link for this long.
PLEX_URL_WINDOW = timedelta(days=1)

# What the requester is told when their request reaches a status.
NOTICES = {
    "approved": ("{title} was approved and is on its way.", "info"),
    "available": ("{title} is now available.", "success"),
    "partially_available": ("{title} is now partly available.", "success"),
    "declined": ("Your request for {title} was declined.", "error"),
    "failed": ("Your request for {title} failed in Overseerr; an admin has been told.", "error"),
    "removed": ("Your request for {title} was removed in Overseerr.", "info"),
}


def client() -> OverseerrClient:
    return OverseerrClient(config.load())


def service_state() -> str:
    """What the last health check saw (``online``/``degraded``/``offline``/``unconfigured``, or ``unknown``)."""
    row = db.session.get(ServiceStatus, "overseerr")
    if row is not None and row.checked_at is not None:
        return row.status
    return "unknown" if config.load().configured else "unconfigured"


def overseerr_user(user: User, overseerr: OverseerrClient) -> tuple[int | None, bool]:
    """``(Overseerr user id to act as, made as admin)``; raises when the user is not matched.

    ``None`` as the id means "as the key's owner" (the Overseerr admin).
    """
    match = overseerr.user_for_plex_id(user.plex_id)
    if match is None:  # perhaps linked since the list was cached: ask Overseerr before saying no
        match = overseerr.user_for_plex_id(user.plex_id, fresh=True)
    if match is not None:
        return match["id"], False
    if overseerr.config.fallback_to_admin:
        return None, True
    raise ApiError(
        "MEDIA_USER_UNMATCHED",
        "Your MediaNest account is not linked to an Overseerr account. Sign in to Overseerr once with your Plex "
        "account, then try again (or ask an admin).",
        details={"plex_id": user.plex_id},
    )


def what_a_request_does(user: User, overseerr: OverseerrClient, media_type: str) -> str:
    """ "approved automatically", "waits for approval", or "unmatched" — for the request button's words."""
    try:
        match = overseerr.user_for_plex_id(user.plex_id)
    except ApiError:
        return "waits for approval"
    if match is None:
        return "approved automatically" if overseerr.config.fallback_to_admin else "unmatched"
    automatic = PERM_ADMIN | PERM_MANAGE_REQUESTS | PERM_AUTO_APPROVE
    automatic |= PERM_AUTO_APPROVE_MOVIE if media_type == "movie" else PERM_AUTO_APPROVE_TV
    return "approved automatically" if match["permissions"] & automatic else "waits for approval"


def make_request(user: User, media_type: str, tmdb_id: int, seasons: list[int] | str | None) -> MediaRequest:
    """Ask Overseerr for a title on ``user``'s behalf and record it.

    Overseerr's own answers become clear errors: 409/202 (already requested)
    ``MEDIA_ALREADY_REQUESTED``, 403 (quota or permission) ``MEDIA_REQUEST_REFUSED``.
    """
    overseerr = client()
    details = overseerr.details(media_type, tmdb_id)
    if media_type == "tv" and isinstance(seasons, list):
        known = {s["number"] for s in details.get("seasons") or []}
        unknown = sorted(set(seasons) - known)
        if known and unknown:
            raise ApiError(
                "VALIDATION_ERROR",
                f"{details['title']} has no season {', '.join(str(n) for n in unknown)}.",
                details={
                    "fields": [
                        {"field": "seasons", "message": f"known seasons: {sorted(known)}", "type": "value_error"}
                    ]
                },
            )
    as_user, as_admin = overseerr_user(user, overseerr)
    # Recorded before it is sent: Overseerr posts the creation's webhook before it answers, and
    # goes on making a request after MediaNest stopped waiting; both then find this row.
    record = MediaRequest(
        user_id=user.id,
        media_type=media_type,
        tmdb_id=tmdb_id,
        title=details["title"][:500],
        year=details.get("year"),
        poster_url=details.get("poster_url"),
        seasons=seasons if isinstance(seasons, list) else None,
        all_seasons=media_type == "tv" and seasons in (None, "all"),
        overseerr_user_id=as_user,
        as_admin=as_admin,
        status=SUBMITTING,
    )
    db.session.add(record)
    db.session.commit()
    try:
        try:
            created = overseerr.create_request(media_type, tmdb_id, seasons, as_user)
        except ServiceUnauthorized:
            # Overseerr answers 403 alike for a wrong key and for an X-API-User it no longer has:
            # a person whose Overseerr account was deleted is told so, not that the key is wrong.
            if as_user is None or overseerr.user_for_plex_id(user.plex_id, fresh=True) is not None:
                raise
            as_user, as_admin = overseerr_user(user, overseerr)
            record.overseerr_user_id, record.as_admin = as_user, as_admin
            created = overseerr.create_request(media_type, tmdb_id, seasons, as_user)
    except (ServiceTimeout, ServiceBadAnswer):
        # Overseerr may still make it: the row waits for its webhook or the next reconcile.
        record.status_message = "Overseerr did not answer in time; MediaNest is checking whether it made the request."
        db.session.commit()
        raise
    except Exception:
        db.session.delete(record)
        db.session.commit()
        raise
    if created.outcome != "created":
        db.session.delete(record)
        db.session.commit()
        if created.outcome == "duplicate":
            raise ApiError("MEDIA_ALREADY_REQUESTED", f"{details['title']}: {created.message}")
        raise ApiError("MEDIA_REQUEST_REFUSED", created.message)
    body = created.body or {}
    media = body.get("media") if isinstance(body.get("media"), dict) else {}
    numbers = [to_int(s.get("seasonNumber")) for s in body.get("seasons") or [] if isinstance(s, dict)]
    if numbers:
        record.seasons = [n for n in numbers if n is not None] or record.seasons
    claim(record, to_id(body.get("id")))
    learn_plex_url(record, plex_url_of(media))
    answered = request_state(body.get("status"), media.get("status"))
    if STAGES[answered] >= STAGES.get(record.status, 0):  # the webhook may have been first, and further
        record.status = answered
    record.synced_at = utcnow()
    db.session.commit()
    answer_cache.forget_all()  # the title's state in every cached search just changed
    log.info(
        "request %s made for user %s: %s %s (Overseerr request %s)",
        record.id,
        user.id,
        media_type,
        tmdb_id,
        record.overseerr_id,
    )
    publish("media.request.created", _event(record))
    return record


def claim(record: MediaRequest, overseerr_id: int | None) -> None:
    """Give ``record`` Overseerr's request id; an older row holding the same id loses it.

    Request ids start again at 1 when Overseerr is reinstalled or replaced: the older row
    names a request this Overseerr never had, so it is marked removed (a final state).
    """
    if overseerr_id is None or record.overseerr_id == overseerr_id:
        return
    stale = db.session.scalar(
        db.select(MediaRequest).where(MediaRequest.overseerr_id == overseerr_id, MediaRequest.id != record.id)
    )
    if stale is not None:
        log.warning(
            "request %s: Overseerr request %s now belongs to request %s (Overseerr was reinstalled or replaced)",
            stale.id,
            overseerr_id,
            record.id,
        )
        stale.overseerr_id = None
        if stale.status not in FINAL_STATUSES:
            stale.status = "removed"
            stale.status_message = "Overseerr no longer has this request: it was reinstalled or replaced."
            stale.updated_at = utcnow()
        db.session.flush()
    record.overseerr_id = overseerr_id


def _event(record: MediaRequest) -> dict[str, Any]:
    return {
        "user_id": record.user_id,
        "request_id": record.id,
        "title": record.title,
        "media_type": record.media_type,
        "status": record.status,
    }


def set_status(record: MediaRequest, status: str, source: str, message: str | None = None) -> bool:
    """Record a new status; on a change publish ``media.request.updated`` and tell the requester."""
    record.synced_at = utcnow()
    if record.status == status:
        db.session.commit()
        return False
    previous = record.status
    record.status = status
    record.status_message = message
    record.updated_at = utcnow()
    db.session.commit()
    answer_cache.forget_all()
    log.info("request %s: %s -> %s (%s)", record.id, previous, status, source)
    publish("media.request.updated", _event(record))
    notice = NOTICES.get(status)
    if notice:
        text, level = notice
        kind = "request.available" if status == "partially_available" else f"request.{status}"
        notify(record.user_id, text.format(title=record.title), level, _requests_link(), kind)
    return True


def _requests_link() -> str | None:
    try:
        return url_for("overseerr.requests_page")
    except RuntimeError:  # outside a request (a worker): a plain path
        return "/media/requests"


def reconcile(limit: int = 200, unanswered_after: timedelta = UNANSWERED_GRACE) -> dict[str, int]:
    """Bring open requests up to date from ``GET /request/<id>`` (for installations without webhooks).

    The least recently checked first, at most ``limit`` per run; stops at the
    first sign that Overseerr is unreachable.  An available request still without
    its Plex link is asked about too, for ``PLEX_URL_WINDOW``.  Requests whose sending got no
    answer (older than ``unanswered_after``) are looked for among the title's
    requests in Overseerr first.
    """
    counts = {"checked": 0, "changed": 0}
    settings = config.load()
    if not settings.configured:
        return counts
    overseerr = OverseerrClient(settings)
    try:
        settle_unanswered(overseerr, unanswered_after, counts)
    except ServiceError as exc:
        log.warning("reconcile stopped: %s", exc.message)
        return counts
    newly_available = and_(
        MediaRequest.status == "available",
        MediaRequest.plex_url.is_(None),
        MediaRequest.updated_at >= utcnow() - PLEX_URL_WINDOW,
    )
    rows = db.session.scalars(
        db.select(MediaRequest)
        .where(
            or_(MediaRequest.status.not_in(FINAL_STATUSES), newly_available),
            MediaRequest.overseerr_id.is_not(None),
        )
        .order_by(MediaRequest.synced_at.asc().nulls_first(), MediaRequest.id)
        .limit(limit)
    ).all()
    for record in rows:
        try:
            answer = overseerr.get_request(record.overseerr_id)
        except ServiceError as exc:
            log.warning("reconcile stopped: %s", exc.message)
            break
        counts["checked"] += 1
        found = answer or {}
        media = found.get("media") if isinstance(found.get("media"), dict) else {}
        linked = learn_plex_url(record, plex_url_of(media, bool(found.get("is4k"))))
        if record.status in FINAL_STATUSES:  # available, asked about for its link only
            record.synced_at = utcnow()
            db.session.commit()
            moved = False
        elif answer is None:
            moved = set_status(record, "removed", "reconcile")
        else:
            media_status = media.get("status4k") if answer.get("is4k") else media.get("status")
            moved = set_status(record, request_state(answer.get("status"), media_status), "reconcile")
        if linked and not moved:
            publish("media.request.updated", _event(record))  # "My media" shows the link
        changed = moved or linked
        counts["changed"] += int(changed)
    return counts


def learn_plex_url(record: MediaRequest, plex_url: str | None) -> bool:
    """Keep where the title is in Plex (not committed); True when the link is new."""
    if plex_url is None or plex_url == record.plex_url:
        return False
    record.plex_url = plex_url
    return True


def settle_unanswered(overseerr: OverseerrClient, after: timedelta, counts: dict[str, int]) -> None:
    """Find in Overseerr the requests it made after MediaNest stopped waiting for its answer."""
    now = utcnow()
    rows = db.session.scalars(
        db.select(MediaRequest)
        .where(
            MediaRequest.status == SUBMITTING,
            MediaRequest.overseerr_id.is_(None),
            MediaRequest.created_at <= now - after,
        )
        .order_by(MediaRequest.id)
    ).all()
    for record in rows:
        answer = overseerr.requests_of(record.media_type, record.tmdb_id)
        if answer is None:
            continue
        found, media_status = answer
        counts["checked"] += 1
        ids = [i for i in (to_id(r.get("id")) for r in found) if i is not None]
        held = set(db.session.scalars(db.select(MediaRequest.overseerr_id).where(MediaRequest.overseerr_id.in_(ids))))
        candidates = [
            r
            for r in found
            if to_id(r.get("id")) is not None
            and to_id(r.get("id")) not in held
            and not r.get("is4k")
            and (
                record.overseerr_user_id is None
                or to_int((r.get("requestedBy") or {}).get("id")) == record.overseerr_user_id
            )
        ]
        if candidates:
            newest = max(candidates, key=lambda r: to_id(r.get("id")) or 0)
            claim(record, to_id(newest.get("id")))
            record.status_message = None
            state = request_state(newest.get("status"), media_status)
            counts["changed"] += int(set_status(record, state, "reconcile: made after MediaNest stopped waiting"))
        elif record.created_at <= now - UNANSWERED_GIVE_UP:
            message = "Overseerr did not make this request; ask for it again."
            counts["changed"] += int(set_status(record, "failed", "reconcile", message))
