"""The Plex home on the dashboard: recently added, continue watching, now playing.

No card asks Plex.  Periodic tasks do, and keep each answer as the last good
one (``remember``):

* *Recently added* (every library's newest items) every two minutes, with the
  server token; ``plex.recently_added`` when it changed.
* *Continue watching* every two minutes for each person who signed in with
  Plex, with that person's own token (MediaNest keeps it encrypted), and at
  once after their first sign-in; ``plex.continue_watching`` to that person.
* *Now playing* (``/status/sessions``, for the admins) every
  ``MEDIANEST_PLEX_NOW_PLAYING_SECONDS`` (10 s); ``plex.now_playing`` to the
  admins when what is playing changed.

When Plex does not answer, the task keeps why (and publishes that once), and
the card says Plex is down and shows the last good answer with its age; the
card also says so while Plex's health check has it offline.  The cards redraw
themselves on these events, within the card budget like every card.

Plex's answers are untrusted: every field is read defensively, and an answer
with missing or odd fields gives a shorter line, never an error.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

from celery import shared_task
from flask import url_for
from medianest_plex.browse import remember_images
from medianest_plex.client import PlexServer
from medianest_plex.config import NAME, SERVICE, PlexConfig, plex_config
from medianest_plex.events import CONTINUE_WATCHING, NOW_PLAYING, RECENTLY_ADDED

from medianest.plugins import publish
from medianest.plugins.access import plex_token_for
from medianest.plugins.db import ServiceStatus, User, db, utcnow
from medianest.plugins.http import ServiceError, last_good, remember
from medianest.plugins.settings import service_env

log = logging.getLogger("medianest.plex")

POSTER_SIZE = (160, 240)
RECENT_PER_LIBRARY = 8
RECENT_LIBRARIES = 4
CONTINUE_COUNT = 8
HOME_SECONDS = 120.0  # how often recently added and continue watching are read
# What each kind of library lists as "recently added": movies, and the episodes of shows.
RECENT_TYPES = {"movie": 1, "show": 4}
DEFAULT_NOW_PLAYING_SECONDS = 10.0
PROGRESS_STEP = 5  # percent: a stream moving on by this much counts as a change
RECENT_KEY = "recently-added"
NOW_KEY = "now-playing"
DOWN = ("offline", "degraded")


# ------------------------------------------------------------------ reading Plex's fields
def _text(value: Any) -> str | None:
    return str(value).strip() or None if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None  # Python's JSON reader takes NaN and Infinity too
    return int(value)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def display_title(meta: dict[str, Any]) -> str:
    """``Title (1999)`` for a film, ``Show — S1 · E2`` for an episode."""
    title = _text(meta.get("title")) or "Untitled"
    if meta.get("type") == "episode":
        show = _text(meta.get("grandparentTitle"))
        season, episode = _int(meta.get("parentIndex")), _int(meta.get("index"))
        where = " · ".join(
            p for p in (f"S{season}" if season is not None else "", f"E{episode}" if episode else "") if p
        )
        if show:
            return f"{show} — {where}" if where else f"{show} — {title}"
        return f"{title} — {where}" if where else title
    year = _int(meta.get("year"))
    return f"{title} ({year})" if year and 1800 < year < 3000 else title


def poster_path(meta: dict[str, Any]) -> str | None:
    """The image Plex names for an item: the show's poster for an episode."""
    names = ("grandparentThumb", "parentThumb", "thumb") if meta.get("type") == "episode" else ("thumb",)
    for name in names:
        value = meta.get(name)
        if isinstance(value, str) and value and len(value) <= 2000:
            return value
    return None


def progress(meta: dict[str, Any]) -> int | None:
    """How far into the item, in whole percent (``viewOffset`` of ``duration``), or ``None``."""
    offset, duration = _int(meta.get("viewOffset")), _int(meta.get("duration"))
    if offset is None or not duration or duration <= 0:
        return None
    return max(0, min(100, int(offset * 100 / duration)))


def decision(meta: dict[str, Any]) -> str:
    """``transcode``, ``copy`` (direct stream) or ``direct`` (direct play)."""
    transcode = meta.get("TranscodeSession")
    if isinstance(transcode, dict):
        decisions = {d for d in (transcode.get("videoDecision"), transcode.get("audioDecision")) if isinstance(d, str)}
        if decisions and decisions <= {"copy", "directplay"}:
            return "copy"
        return "transcode"
    for media in _dicts(meta.get("Media")):
        if any(part.get("decision") == "transcode" for part in _dicts(media.get("Part"))):
            return "transcode"
    return "direct"


def item_line(meta: dict[str, Any], seen: set[str]) -> dict[str, Any]:
    path = poster_path(meta)
    if path:
        seen.add(path)
    return {
        "key": _text(meta.get("ratingKey")),
        "title": display_title(meta),
        "poster_path": path,
        "progress": progress(meta),
    }


def session_line(meta: dict[str, Any], seen: set[str]) -> dict[str, Any]:
    player, user, session = _dict(meta.get("Player")), _dict(meta.get("User")), _dict(meta.get("Session"))
    line = item_line(meta, seen)
    line.update(
        {
            "session": _text(session.get("id")) or _text(meta.get("sessionKey")),
            "plex_user_id": _text(user.get("id")),
            "plex_user": _text(user.get("title")),
            "player": _text(player.get("title")) or _text(player.get("product")),
            "state": _text(player.get("state")) or "playing",
            "decision": decision(meta),
            "local": session.get("location") == "lan" if session.get("location") in ("lan", "wan") else None,
        }
    )
    return line


# ------------------------------------------------------------------ asking Plex (tasks only)
def continue_key(user_id: int) -> str:
    return f"continue-watching:{user_id}"


def _problem_key(key: str) -> str:
    return f"{key}:problem"


def refresh(
    key: str,
    produce: Callable[[], list[dict[str, Any]]],
    fingerprint: Callable[[list[dict[str, Any]]], Any],
    announce: Callable[[list[dict[str, Any]], str | None], None],
) -> bool:
    """Ask Plex (``produce``), keep the answer as the last good one, and ``announce`` a change.

    A failure is kept too (and announced once, with the reason): the card then
    says Plex is down and shows the last good answer.  Returns whether it announced.
    """
    before = last_good(SERVICE, key)
    problem = last_good(SERVICE, _problem_key(key))
    had_problem = bool(problem and isinstance(problem.value, dict))
    try:
        value = produce()
    except ServiceError as exc:
        if had_problem and problem.value.get("error") == exc.message:
            return False
        remember(SERVICE, _problem_key(key), {"error": exc.message})
        announce([], exc.message)
        return True
    remember(SERVICE, key, value)
    if had_problem:
        remember(SERVICE, _problem_key(key), None)
    old = before.value if before and isinstance(before.value, list) else None
    if old is not None and not had_problem and fingerprint(old) == fingerprint(value):
        return False
    announce(value, None)
    return True


def _now() -> str:
    return utcnow().isoformat() + "Z"


def _steps(value: Any) -> int:
    return (value if isinstance(value, int) else 0) // PROGRESS_STEP


# ------------------------------------------------------------------ recently added
def _read_recently_added(config: PlexConfig) -> list[dict[str, Any]]:
    plex = PlexServer(config, read_timeout=8)
    shelves, seen = [], set()
    for lib in plex.libraries():
        key, media_type = _text(lib.get("key")) or "", RECENT_TYPES.get(str(lib.get("type")))
        if media_type is None or not key.isdigit():
            continue
        found = plex.recently_added(key, media_type, RECENT_PER_LIBRARY)
        items = [item_line(m, seen) for m in found[:RECENT_PER_LIBRARY]]
        shelves.append({"key": key, "title": _text(lib.get("title")) or f"Library {key}", "items": items})
        if len(shelves) >= RECENT_LIBRARIES:
            break
    remember_images(seen)
    return shelves


def refresh_recently_added() -> bool:
    config = plex_config()
    if not config.configured:
        return False

    def announce(shelves: list[dict[str, Any]], problem: str | None) -> None:
        publish(
            RECENTLY_ADDED.name,
            {
                "user_id": None,
                "libraries": len(shelves),
                "items": sum(len(s["items"]) for s in shelves),
                "problem": problem,
                "checked_at": _now(),
            },
        )

    return refresh(
        RECENT_KEY,
        lambda: _read_recently_added(config),
        lambda shelves: [(s.get("key"), [i.get("key") for i in s.get("items") or []]) for s in shelves],
        announce,
    )


@shared_task(name="plex.recently_added", ignore_result=True)
def recently_added_task() -> None:
    refresh_recently_added()


# ------------------------------------------------------------------ continue watching
def refresh_continue_watching(user_id: int) -> bool:
    """One person's continue-watching row, asked with their own Plex token."""
    config = plex_config()
    token = plex_token_for(user_id)
    if not config.url or not token:
        return False

    def produce() -> list[dict[str, Any]]:
        seen: set[str] = set()
        found = PlexServer(config, read_timeout=8).continue_watching(token, CONTINUE_COUNT)
        lines = [item_line(m, seen) for m in found[:CONTINUE_COUNT]]
        remember_images(seen)
        return lines

    def announce(items: list[dict[str, Any]], problem: str | None) -> None:
        publish(
            CONTINUE_WATCHING.name, {"user_id": user_id, "items": len(items), "problem": problem, "checked_at": _now()}
        )

    return refresh(
        continue_key(user_id),
        produce,
        lambda items: [(i.get("key"), _steps(i.get("progress"))) for i in items],
        announce,
    )


def people_with_plex() -> list[int]:
    rows = db.session.scalars(
        db.select(User.id).where(User.plex_token.is_not(None), User.status == "active").order_by(User.id)
    )
    return list(rows)


@shared_task(name="plex.continue_watching", ignore_result=True)
def continue_watching_task(user_id: int | None = None) -> None:
    """One person's row (after their first sign-in), or everyone's (the periodic run)."""
    for person in [user_id] if user_id is not None else people_with_plex():
        try:
            refresh_continue_watching(person)
        except Exception:  # one person's broken token must not hold up the others
            db.session.rollback()
            log.exception("could not read continue watching for user %s", person)


def on_first_sign_in(payload: dict[str, Any]) -> None:
    """``user.first_sign_in``: read the newcomer's row now instead of at the next run."""
    user_id = payload.get("user_id")
    if isinstance(user_id, int) and plex_config().url:
        continue_watching_task.delay(user_id)


# ------------------------------------------------------------------ now playing
def now_playing_interval() -> float:
    raw = service_env(SERVICE, "now_playing_seconds")
    try:
        value = float(raw) if raw is not None else DEFAULT_NOW_PLAYING_SECONDS
    except ValueError:
        log.warning(
            "MEDIANEST_PLEX_NOW_PLAYING_SECONDS is not a number; checking every %s s", DEFAULT_NOW_PLAYING_SECONDS
        )
        value = DEFAULT_NOW_PLAYING_SECONDS
    return max(1.0, min(value, 3600.0))


def fingerprint(sessions: list[dict[str, Any]]) -> list[tuple]:
    """What counts as a change: streams, items, pause or play, transcoding, progress in 5 % steps."""
    return sorted(
        (
            str(s.get("session")),
            str(s.get("key")),
            str(s.get("plex_user_id")),
            str(s.get("state")),
            str(s.get("decision")),
            _steps(s.get("progress")),
        )
        for s in sessions
        if isinstance(s, dict)
    )


def refresh_now_playing() -> bool:
    """Ask Plex what is playing, keep it, publish ``plex.now_playing`` on a change; returns whether it did."""
    config = plex_config()
    if not config.configured:
        return False

    def produce() -> list[dict[str, Any]]:
        seen: set[str] = set()
        sessions = [session_line(m, seen) for m in PlexServer(config, read_timeout=5).sessions()]
        remember_images(seen)
        return sessions

    def announce(sessions: list[dict[str, Any]], problem: str | None) -> None:
        publish(
            NOW_PLAYING.name,
            {
                "user_id": None,
                "streams": len(sessions),
                "transcoding": sum(1 for s in sessions if s.get("decision") == "transcode"),
                "titles": [s["title"] for s in sessions],
                "problem": problem,
                "checked_at": _now(),
            },
        )

    return refresh(NOW_KEY, produce, fingerprint, announce)


@shared_task(name="plex.now_playing", ignore_result=True)
def now_playing_task() -> None:
    refresh_now_playing()


# ------------------------------------------------------------------ what the cards read
def plex_status() -> dict[str, Any] | None:
    row = db.session.get(ServiceStatus, SERVICE)
    return row.to_public() if row is not None else None


def stored(key: str) -> dict[str, Any]:
    """The last good answer under ``key``, whether Plex is down (and why), and the answer's age."""
    answer = last_good(SERVICE, key)
    problem = last_good(SERVICE, _problem_key(key))
    error = problem.value.get("error") if problem and isinstance(problem.value, dict) else None
    status = plex_status()
    if error is None and status and status["status"] in DOWN:
        error = status.get("error") or f"{NAME} is not answering."
    value = answer.value if answer and isinstance(answer.value, list) else []
    found = {"value": [v for v in value if isinstance(v, dict)], "checked": answer is not None}
    found.update(down=error is not None, error=error)
    if answer is not None:
        found.update(stored_at=answer.to_public()["stored_at"], age_seconds=round(answer.age_seconds))
    return found


def _with_posters(lines: list[Any]) -> list[dict[str, Any]]:
    shown = []
    for line in lines:
        if not isinstance(line, dict):
            continue
        path = line.get("poster_path")
        poster = url_for("plex.poster", path=path, w=POSTER_SIZE[0], h=POSTER_SIZE[1]) if path else None
        url = url_for("plex.item_page", key=line["key"]) if str(line.get("key") or "").isdigit() else None
        shown.append({**line, "poster": poster, "url": url})
    return shown


def recently_added_context() -> dict[str, Any]:
    if not plex_config().configured:
        return {"configured": False}
    found = stored(RECENT_KEY)
    shelves = found.pop("value")
    for shelf in shelves:
        shelf["items"] = _with_posters(shelf.get("items") or [])
    return {"configured": True, "shelves": shelves, **found}


def continue_watching_context(user) -> dict[str, Any]:
    if not plex_config().url:
        return {"configured": False}
    if not plex_token_for(user.id):
        return {"configured": True, "signed_in_with_plex": False}
    found = stored(continue_key(user.id))
    return {"configured": True, "signed_in_with_plex": True, "items": _with_posters(found.pop("value")), **found}


def _names(plex_ids: set[str]) -> dict[str, str]:
    """MediaNest's display names of the people with these Plex account ids."""
    if not plex_ids:
        return {}
    rows = db.session.scalars(db.select(User).where(User.plex_id.in_(sorted(plex_ids))))
    return {str(u.plex_id): u.display_name or u.username for u in rows}


def now_playing_context() -> dict[str, Any]:
    if not plex_config().configured:
        return {"configured": False}
    found = stored(NOW_KEY)
    sessions = found.pop("value")
    names = _names({str(s["plex_user_id"]) for s in sessions if s.get("plex_user_id")})
    for line in sessions:
        line["who"] = names.get(str(line.get("plex_user_id"))) or line.get("plex_user") or "Someone"
    return {"configured": True, "sessions": _with_posters(sessions), **found}
