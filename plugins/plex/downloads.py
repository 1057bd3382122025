"""Downloads into collections: when a YouTube download completes, its files become a Plex collection.

The event handler only records the download and queues ``plex.collect_download``.
The task works in steps driven by the ``DownloadCollection`` row, so a retry
(or a worker restart) picks up where the last run stopped:

1. ask Plex for a targeted scan of the download's folder (once);
2. look for the new files among the library's newest items; while some are
   missing, check again later with growing pauses, for at most ``SCAN_WAIT`` s;
3. add what appeared to the collection named from the template, creating it
   when missing; notify the owner and publish ``plex.collection.ready``.

Plex being down or failing retries the step with backoff; after
``MAX_ATTEMPTS`` the row is marked failed and the owner is told plainly — the
downloaded files themselves are never touched.

A step waiting for its turn lives only in the queue (a retry with a countdown):
a restart can lose it (embedded mode's in-process worker, or a worker holding
it in production).  ``plex.resume_collections`` runs every minute and queues
again every unfinished row whose next step is overdue.
"""

from __future__ import annotations

import logging
import posixpath
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from celery import shared_task
from medianest_plex import cache
from medianest_plex.client import PlexServer, entries
from medianest_plex.config import PlexConfig, plex_config
from medianest_plex.models import DownloadCollection

from medianest.plugins.db import User, db, utcnow
from medianest.plugins.events import notify, publish
from medianest.plugins.http import ServiceError

log = logging.getLogger("medianest.plex")

READY_EVENT = "plex.collection.ready"
MEDIA_EXTENSIONS = frozenset(
    ".mp4 .mkv .webm .m4v .mov .avi .flv .ts .mpg .mpeg .wmv .mp3 .m4a .opus .ogg .oga .flac .wav .aac .wma".split()
)
SCAN_WAIT = 600  # seconds to wait for Plex to find the files
MAX_ATTEMPTS = 8  # Plex unreachable or failing: 5 s, 10 s, ... ~20 min in all
NEWEST_PAGE = 100
# Where "Open in Plex" leads: the Plex web app, reachable wherever the person signs in to Plex
# (the server URL MediaNest uses may be an address only MediaNest can reach). Overseerr links the same way.
WEB_APP = "https://app.plex.tv/desktop"
NEWEST_PAGES = 10


class CollectError(Exception):
    """A problem retrying won't fix (settings); the message is for the owner."""


# Every step writes the row; a row unfinished and unwritten for longer than the longest pause
# (5 min) and a minute more lost its queued step.
STUCK_AFTER = timedelta(minutes=6)


def poll_delay(polls: int) -> int:
    """Pause before the n-th look for the new items: 1, 2, 4, 8, 15, 30, 30, ... s."""
    steps = (1, 2, 4, 8, 15, 30)
    return steps[min(max(polls, 1), len(steps)) - 1]


def retry_delay(attempts: int) -> int:
    """Pause after the n-th failed attempt: 5, 10, 20, 40, ... s, at most 5 min."""
    return min(300, 5 * 2 ** max(0, attempts - 1))


# ---------------------------------------------------------------- the event
def _file_path(entry: Any) -> str | None:
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict) and isinstance(entry.get("path"), str):
        return entry["path"]
    return None


def on_download_completed(payload: dict[str, Any]) -> None:
    """``youtube.download.completed``: remember the download, clear the cache, queue the collection."""
    download_id = str(payload.get("download_id") or "").strip()
    if not download_id:
        log.warning("youtube.download.completed without a download_id: ignored")
        return
    cache.invalidate()
    if not plex_config().configured:
        log.info("download %s completed; Plex is not configured, no collection made", download_id)
        return
    try:
        _record_download(download_id, payload)
    except Exception:
        db.session.rollback()  # the publisher's session must stay usable
        raise
    collect_download.delay(download_id)


def _record_download(download_id: str, payload: dict[str, Any]) -> None:
    files = [p for p in (_file_path(f) for f in payload.get("files") or []) if p]
    row = db.session.get(DownloadCollection, download_id)
    if row is None:
        row = DownloadCollection(download_id=download_id)
        db.session.add(row)
    user_id = payload.get("user_id")
    row.user_id = user_id if isinstance(user_id, int) and db.session.get(User, user_id) else None
    row.title = str(payload.get("title") or "Download")[:500]
    row.folder = payload.get("folder") or (posixpath.dirname(files[0]) if files else None)
    # A download completed again (retried, more files): merge and go through the steps again.
    row.files = sorted(set(row.files or []) | set(files))
    row.status, row.attempts, row.polls, row.waited_seconds = "queued", 0, 0, 0
    row.error, row.scan_requested_at = None, None
    db.session.commit()


# ---------------------------------------------------------------- the task
@shared_task(name="plex.collect_download", bind=True, ignore_result=True, max_retries=None)
def collect_download(self, download_id: str) -> None:
    """Put one finished download into its Plex collection (see the module docstring)."""
    wait = collect_step(download_id)
    if wait is not None:
        raise self.retry(countdown=wait)


@shared_task(name="plex.resume_collections", ignore_result=True)
def resume_collections() -> list[str]:
    return resume_stuck()


def resume_stuck(now: datetime | None = None) -> list[str]:
    """Queue again the collections whose next step is overdue (its queued task was lost)."""
    cutoff = (now or utcnow()) - STUCK_AFTER
    stuck = db.session.scalars(
        db.select(DownloadCollection.download_id).where(
            DownloadCollection.status.in_(("queued", "scanning")), DownloadCollection.updated_at < cutoff
        )
    ).all()
    for download_id in stuck:
        log.info("collection for download %s: its next step never ran; queued again", download_id)
        collect_download.delay(download_id)
    return list(stuck)


@dataclass
class Found:
    keys: list[str]
    missing: int


def collect_step(download_id: str) -> int | None:
    """One run of the task. Returns seconds to wait before the next run, or ``None`` when finished."""
    row = db.session.get(DownloadCollection, download_id)
    if row is None or row.status in ("done", "failed"):
        return None
    config = plex_config()
    try:
        if not config.configured:
            raise CollectError("Plex is not set up in MediaNest (server URL and token)")
        return _advance(row, config)
    except CollectError as exc:
        _fail(row, str(exc))
        return None
    except ServiceError as exc:
        row.attempts += 1
        row.error = exc.message
        if row.attempts >= MAX_ATTEMPTS:
            _fail(row, f"Plex kept failing ({exc.message})")
            return None
        db.session.commit()
        log.info("collection for download %s: %s; retrying", download_id, exc.message)
        return retry_delay(row.attempts)


def _advance(row: DownloadCollection, config: PlexConfig) -> int | None:
    plex = PlexServer(config)
    if row.section_key is None:
        row.section_key = _section(plex, config, row)["key"]
    section_key = row.section_key
    expected = {config.plex_path(p) for p in row.files or [] if posixpath.splitext(p)[1].lower() in MEDIA_EXTENSIONS}
    folder = config.plex_path(row.folder) if row.folder else None
    if row.scan_requested_at is None:
        plex.scan(section_key, folder)
        row.scan_requested_at = utcnow()
        row.status = "scanning"
        db.session.commit()
    found = _find_items(plex, section_key, expected, folder)
    if (found.missing or not found.keys) and row.waited_seconds < SCAN_WAIT:
        row.polls += 1
        wait = poll_delay(row.polls)
        row.waited_seconds += wait
        db.session.commit()
        return wait
    section = _section(plex, config, row)
    if not found.keys:
        raise CollectError(
            f"Plex did not find the files in the library {section['title']!r} "
            f"after {row.waited_seconds // 60 or 1} min (is the download folder inside that library?)"
        )
    _collect(plex, plex.identity()["machine_identifier"], section, row, found)
    return None


def _section(plex: PlexServer, config: PlexConfig, row: DownloadCollection) -> dict[str, Any]:
    libraries = plex.libraries()
    if row.section_key is not None:  # chosen when the scan was asked for: keep it
        for lib in libraries:
            if str(lib.get("key")) == row.section_key:
                return {"key": row.section_key, "title": str(lib.get("title")), "type": str(lib.get("type"))}
        raise CollectError(f"the Plex library {row.section_key} was removed while the download was scanned")
    wanted = config.download_library
    if wanted:
        for lib in libraries:
            if str(lib.get("key")) == wanted or str(lib.get("title", "")).lower() == wanted.lower():
                return {"key": str(lib["key"]), "title": str(lib.get("title")), "type": str(lib.get("type"))}
        raise CollectError(f"the library {wanted!r} set for downloads does not exist in Plex")
    folder = config.plex_path(row.folder) if row.folder else None
    best, best_len = None, -1
    for lib in libraries:
        for location in lib.get("Location") or []:
            path = posixpath.normpath(str(location.get("path") or "")) if isinstance(location, dict) else ""
            if (
                folder
                and path
                and (folder == path or folder.startswith(path.rstrip("/") + "/"))
                and len(path) > best_len
            ):
                best, best_len = lib, len(path)
    if best is None:
        raise CollectError(
            "no Plex library holds the download folder; "
            "an admin can name the library for downloads in the Plex settings"
        )
    return {"key": str(best["key"]), "title": str(best.get("title")), "type": str(best.get("type"))}


def _parts(meta: dict[str, Any]) -> list[str]:
    files = []
    for media in meta.get("Media") or []:
        for part in (media.get("Part") or []) if isinstance(media, dict) else []:
            if isinstance(part, dict) and isinstance(part.get("file"), str):
                files.append(posixpath.normpath(part["file"]))
    return files


def _find_items(plex: PlexServer, section: str, expected: set[str], folder: str | None) -> Found:
    """The rating keys of the download's files among the library's newest items."""
    keys: list[str] = []
    remaining = set(expected)
    start = 0
    for _ in range(NEWEST_PAGES):
        box = plex.library_items(section, start, NEWEST_PAGE, "addedAt:desc")
        batch = entries(box)
        for meta in batch:
            files = _parts(meta)
            if expected:
                hit = remaining.intersection(files)
                remaining -= hit
            else:
                hit = {f for f in files if folder and f.startswith(folder.rstrip("/") + "/")}
            if hit and str(meta.get("ratingKey")) not in keys:
                keys.append(str(meta["ratingKey"]))
        start += len(batch)
        if len(batch) < NEWEST_PAGE or (expected and not remaining):
            break
    return Found(keys, len(remaining) if expected else 0)


def web_app_url(machine: str, collection_key: str) -> str:
    """The collection's page in the Plex web app."""
    key = quote(f"/library/collections/{collection_key}", safe="")
    return f"{WEB_APP}#!/server/{quote(machine, safe='')}/details?key={key}"


def _collection_title(config: PlexConfig, row: DownloadCollection) -> str:
    user = db.session.get(User, row.user_id) if row.user_id else None
    try:
        title = config.collection_template.format(user=user.name if user else "Household", title=row.title)
    except (KeyError, IndexError, ValueError):
        title = f"{user.name if user else 'Household'} — {row.title}"
    return title.strip()[:500] or row.title


def _existing_collection(plex: PlexServer, section: str, title: str) -> str | None:
    start = 0
    while start < 5000:
        box = plex.collections(section, start, 200)
        batch = entries(box)
        for meta in batch:
            if str(meta.get("title", "")).strip() == title:
                return str(meta.get("ratingKey"))
        start += len(batch)
        if len(batch) < 200:
            return None
    return None


def _collect(plex: PlexServer, machine: str, section: dict[str, Any], row: DownloadCollection, found: Found) -> None:
    config = plex.config
    title = _collection_title(config, row)
    uri = plex.collection_uri(machine, found.keys)
    key = _existing_collection(plex, section["key"], title)
    if key is None:
        key = str(plex.create_collection(section["key"], section["type"], title, uri)["ratingKey"])
    else:
        plex.add_to_collection(key, uri)
    row.collection_key, row.collection_title = key, title
    row.item_keys, row.missing = found.keys, found.missing
    row.status, row.error = "done", None
    db.session.commit()
    cache.invalidate()
    message = f"“{row.title}” is in Plex: collection “{title}”."
    if found.missing:
        message += f" {found.missing} file(s) did not show up in Plex."
    notify(row.user_id, message, "warning" if found.missing else "success", row.url, "download.in_plex")
    publish(
        READY_EVENT,
        {
            "user_id": row.user_id,
            "download_id": row.download_id,
            "collection_key": key,
            "collection_title": title,
            "url": row.url,
            "plex_url": web_app_url(machine, key),
        },
    )


def _fail(row: DownloadCollection, reason: str) -> None:
    row.status, row.error = "failed", reason
    db.session.commit()
    log.warning("collection for download %s failed: %s", row.download_id, reason)
    notify(
        row.user_id,
        f"“{row.title}” was downloaded, but MediaNest could not put it into a Plex collection: {reason}. "
        "The files are where they were saved.",
        "error",
        None,
        "download.failed",
    )
