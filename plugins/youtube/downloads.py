"""Downloads as the household sees them: submit, queue, cancel, retry, delete, recover.

The database row is the truth.  A job gets a Celery message only when a slot
is free (``dispatch``), so the global cap holds across every worker and the
queue position is simply the row's rank among the queued ones.  Every message
carries a fresh ``task_id`` that the row must still hold when the job starts:
a message redelivered after its row was re-queued is dropped, never run twice.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import uuid
from datetime import timedelta
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any

from medianest_youtube import config as youtube_config
from medianest_youtube.models import (
    ACTIVE,
    CANCELLED,
    FAILED,
    PUBLIC_COLUMNS,
    QUEUED,
    RUNNING,
    Download,
    UserFolder,
    public_fields,
    public_values,
    url_key,
)
from medianest_youtube.paths import folder_size, inside, readable_folder_name, user_folder
from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.exc import IntegrityError

from medianest.plugins.api import ApiError
from medianest.plugins.db import User, db, utcnow
from medianest.plugins.events import notify, publish

log = logging.getLogger("medianest.youtube")

TABLE = Download.__table__
EVENTS = ("queued", "progress", "completed", "failed", "cancelled")
STALE_AFTER = timedelta(minutes=3)  # a running job touches its row at least every 15 s
_DISPATCH_LOCK_KEY = 0x59_54_44_4C  # "YTDL": serialises slot claims on PostgreSQL
_FOLDER_LOCK_KEY = 0x59_54_46_44  # "YTFD": serialises the choice of a download's folder on PostgreSQL
_dispatch_lock = threading.Lock()  # ... and both between the threads of one process (SQLite)


# ----------------------------------------------------------------- reading
def cfg() -> youtube_config.YoutubeConfig:
    return youtube_config.load()


def folder_name(user_id: int) -> str:
    """The name of ``user_id``'s folder: the stored one, else the one :func:`claim_folder_name` would store."""
    name = db.session.scalar(select(UserFolder.name).where(UserFolder.user_id == user_id))
    if name is not None:
        return name
    user = db.session.get(User, user_id)
    return readable_folder_name(user.name if user else None, user_id)


def claim_folder_name(user: User) -> str:
    """Store the name of ``user``'s folder the first time they download; it never changes after."""
    name = db.session.scalar(select(UserFolder.name).where(UserFolder.user_id == user.id))
    if name is not None:
        return name
    for wanted in (readable_folder_name(user.name, user.id), f"user-{int(user.id)}"):
        try:
            with db.session.begin_nested():
                db.session.add(UserFolder(user_id=user.id, name=wanted))
            return wanted
        except IntegrityError:  # chosen a moment ago by another request, or (rarely) another person's name
            name = db.session.scalar(select(UserFolder.name).where(UserFolder.user_id == user.id))
            if name is not None:
                return name
    raise ApiError("CONFLICT", "No folder name is free for you; ask your admin.", 409)


def user_dir(user_id: int, conf: youtube_config.YoutubeConfig | None = None) -> Path:
    return user_folder((conf or cfg()).download_root, folder_name(user_id))


def folder_of(row: Download, conf: youtube_config.YoutubeConfig | None = None) -> Path | None:
    return user_dir(row.user_id, conf) / row.folder if row.folder else None


def owner_names(rows: list[Download]) -> dict[int, str]:
    """The display names of the people ``rows`` belong to, by user id (one query)."""
    ids = {row.user_id for row in rows}
    if not ids:
        return {}
    found = db.session.execute(select(User.id, User.display_name, User.username).where(User.id.in_(ids)))
    return {user_id: display_name or username for user_id, display_name, username in found}


def queue_positions(rows: list[Download] | None = None) -> dict[int, int]:
    """Place in the global queue of every queued download (1 = next); with ``rows``, only when one of them is queued."""
    if rows is not None and not any(r.status == QUEUED for r in rows):
        return {}
    ids = db.session.scalars(select(Download.id).where(Download.status == QUEUED).order_by(Download.id))
    return {download_id: n for n, download_id in enumerate(ids, start=1)}


def public(row: Download, positions: dict[int, int] | None = None) -> dict[str, Any]:
    """The API's view of one download (a caller showing several passes their ``queue_positions``)."""
    if positions is None:
        positions = queue_positions() if row.status == QUEUED else {}
    folder = folder_of(row)
    return public_fields(public_values(row), positions.get(row.id), str(folder) if folder else None)


def public_list(rows: list[Any]) -> list[dict[str, Any]]:
    """The API's view of a page of Core rows (``list_statement(..., rows=True)``): settings and queue read once."""
    if not rows:
        return []
    fields = rows[0]._fields
    values_of = itemgetter(*(fields.index(name) for name in PUBLIC_COLUMNS))
    folder_at, owner_at, status_at = fields.index("folder"), fields.index("user_id"), fields.index("status")
    owner_folder_at = fields.index("owner_folder")
    positions = queue_positions() if any(row[status_at] == QUEUED for row in rows) else {}
    root = cfg().download_root
    user_dirs: dict[int, str] = {}
    out = []
    for row in rows:
        folder = row[folder_at]
        if folder:
            owner = row[owner_at]
            base = user_dirs.get(owner)
            if base is None:
                name = row[owner_folder_at] or folder_name(owner)  # stored with the first download
                base = user_dirs[owner] = str(user_folder(root, name))
            folder = os.path.join(base, folder)
        values = values_of(row)
        out.append(public_fields(values, positions.get(values[0]), folder))
    return out


def storage_used(user_id: int, conf: youtube_config.YoutubeConfig | None = None) -> int:
    return folder_size(user_dir(user_id, conf))


def file_path(row: Download, n: int) -> Path | None:
    """The n-th file of a download, if it is still on disk inside its owner's folder."""
    files = row.files or []
    folder = folder_of(row)
    if folder is None or not 0 <= n < len(files):
        return None
    path = folder / files[n]["name"]
    if not inside(user_dir(row.user_id), path) or not path.is_file():
        return None
    return path


def event_payload(row: Download, **extra: Any) -> dict[str, Any]:
    folder = folder_of(row)
    payload = {
        "user_id": row.user_id,
        "download_id": row.id,
        "status": row.status,
        "title": row.title or row.url,
        "percent": round(row.percent or 0.0, 1),
        "entry_index": row.entry_index,
        "entry_count": row.entry_count,
        "entry_title": row.entry_title,
        "speed": row.speed,
        "eta": row.eta,
        "files": [str(folder / f["name"]) for f in (row.files or [])] if folder else [],
        "failures": row.failures or [],
        "error": row.error,
    }
    payload.update(extra)
    return payload


def announce(row: Download, event: str, **extra: Any) -> None:
    """Publish ``youtube.download.<event>`` for this row (to its owner and the admins)."""
    assert event in EVENTS
    if event == "completed":
        folder = folder_of(row)
        extra.setdefault("folder", str(folder) if folder else None)
    try:
        publish(f"youtube.download.{event}", event_payload(row, **extra))
    except Exception:  # the row already says it; the browser copy is best-effort
        log.exception("could not publish youtube.download.%s for %s", event, row.id)
    if event in ("completed", "failed"):
        _tell_owner(row, event)


def _tell_owner(row: Download, event: str) -> None:
    """The owner's inbox: a download finished or failed (its Plex collection is told by whoever makes one)."""
    title = row.title or row.url
    if event == "completed":
        message, level, kind = f"“{title}” finished downloading.", "success", "download.finished"
    else:
        reason = f": {row.error}" if row.error else "."
        message, level, kind = f"“{title}” could not be downloaded{reason}", "error", "download.failed"
    try:
        notify(row.user_id, message, level, f"/youtube/{row.id}", kind)
    except Exception:
        log.exception("could not tell the owner of download %s", row.id)


# ----------------------------------------------------------------- submitting
def submit(user: User, url: str, fmt: str) -> Download:
    from medianest_youtube.urls import check_url

    conf = cfg()
    url = check_url(url, conf.allowed_hosts, conf.egress_policy)
    _refuse_duplicate(user.id, url)
    check_space(user.id, conf)
    claim_folder_name(user)
    row = Download(user_id=user.id, url=url, format=fmt, status=QUEUED, percent=0.0, attempts=0, cancel_requested=False)
    db.session.add(row)
    _commit_unless_duplicate(user.id, url)
    announce(row, "queued", queue_position=queue_positions().get(row.id))
    dispatch()
    return row


def _refuse_duplicate(user_id: int, url: str, row_id: int | None = None) -> None:
    """409 with the existing download when ``user_id`` already has ``url`` queued or running."""
    query = select(Download).where(
        Download.user_id == user_id, Download.url_key == url_key(url), Download.status.in_(ACTIVE)
    )
    if row_id is not None:
        query = query.where(Download.id != row_id)
    existing = db.session.scalar(query)
    if existing is not None:
        raise ApiError(
            "CONFLICT", "This URL is already queued or downloading for you.", 409, {"download": public(existing)}
        )


def _commit_unless_duplicate(user_id: int, url: str, row_id: int | None = None) -> None:
    """Commit; when another process queued the same URL a moment ago, the unique index refuses and this is a 409."""
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        _refuse_duplicate(user_id, url, row_id)
        if not _active_url_clash(exc):
            raise  # not the active-URL index: a real error
        # The other download of this URL was active when the index refused, and has
        # finished (or been cancelled) since: nothing to point at, but still a clash.
        raise ApiError(
            "CONFLICT",
            "Another download of this URL was queued or ended at the same moment; try again.",
            409,
            {"url": url},
        ) from None


def _active_url_clash(exc: IntegrityError) -> bool:
    """Did the one-active-download-per-URL index refuse (PostgreSQL names it, SQLite its columns)?"""
    text = str(exc.orig)
    return "uq_youtube_downloads_active_url" in text or "youtube_downloads.url_key" in text


def folder_of_its_own(row: Download, wanted: str) -> str:
    """Set and commit ``row.folder``: ``wanted``, or ``"<wanted> [<id>]"`` when another running download writes there.

    Two downloads of one playlist (URLs that differ only in the query) want
    the same folder and the same file names: writing both into one folder
    would interleave their partial files.  The first keeps the playlist's
    name, so what Plex and the household see stays readable; the other
    writes beside it.  The choice is made under the same locks as a slot
    claim, so two jobs starting at once cannot both take the folder.
    """
    with _dispatch_lock:
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _FOLDER_LOCK_KEY})
        others = db.session.scalars(
            select(Download.folder).where(
                Download.user_id == row.user_id,
                Download.status == RUNNING,
                Download.id != row.id,
                Download.folder.is_not(None),
            )
        )
        taken = {name.casefold() for name in others}
        suffix = f" [{row.id}]"
        folder = wanted
        if wanted.casefold() in taken and not wanted.endswith(suffix):
            folder = f"{wanted}{suffix}"
            log.info("download %s writes into %r: another running download uses %r", row.id, folder, wanted)
        row.folder = folder
        db.session.commit()  # ends the transaction: the lock is released with it
    return folder


def check_space(user_id: int, conf: youtube_config.YoutubeConfig) -> None:
    """Refuse when the user's quota is used up or the disk is nearly full."""
    quota = conf.quota_bytes
    if quota is not None:
        used = storage_used(user_id, conf)
        if used >= quota:
            raise ApiError(
                "QUOTA_EXCEEDED",
                f"Your downloads use {used / 1024**3:.2f} GB of your {conf.quota_gb:g} GB quota; delete some first.",
                details={"used_bytes": used, "quota_bytes": quota},
            )
    free = free_bytes(conf.download_root)
    if free is not None and free < conf.min_free_gb * 1024**3:
        raise ApiError(
            "INSUFFICIENT_STORAGE",
            "The server's disk is almost full; ask an admin to make room.",
            details={"free_bytes": free},
        )


def free_bytes(root: Path) -> int | None:
    probe = root
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return shutil.disk_usage(probe).free
    except OSError:
        return None


# ----------------------------------------------------------------- the queue
def _claim_slot(row_id: int, cap: int, task_id: str) -> bool:
    running = select(func.count()).select_from(Download).where(Download.status == RUNNING).scalar_subquery()
    result = db.session.execute(
        update(Download)
        .where(Download.id == row_id, Download.status == QUEUED, running < cap)
        .values(status=RUNNING, phase="waiting", task_id=task_id, heartbeat_at=utcnow(), cancel_requested=False)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def dispatch() -> list[int]:
    """Give queued downloads to the workers while fewer than ``max_concurrent`` run."""
    conf = cfg()
    started: list[tuple[int, str]] = []
    with _dispatch_lock:
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _DISPATCH_LOCK_KEY})
        running = db.session.scalar(select(func.count()).select_from(Download).where(Download.status == RUNNING)) or 0
        free = conf.max_concurrent - running
        if free > 0:
            candidates = db.session.scalars(
                select(Download.id).where(Download.status == QUEUED).order_by(Download.id).limit(free)
            ).all()
            for row_id in candidates:
                task_id = uuid.uuid4().hex
                if _claim_slot(row_id, conf.max_concurrent, task_id):
                    started.append((row_id, task_id))
        db.session.commit()
    for row_id, task_id in started:
        _send(row_id, task_id)
    return [row_id for row_id, _ in started]


def _send(row_id: int, task_id: str) -> None:
    from medianest_youtube.tasks import download

    try:
        download.apply_async(args=[row_id, task_id], task_id=task_id)
    except Exception:
        log.exception("could not queue download %s; it goes back to the queue", row_id)
        db.session.execute(
            update(Download)
            .where(Download.id == row_id, Download.task_id == task_id, Download.status == RUNNING)
            .values(status=QUEUED, phase=None, task_id=None)
        )
        db.session.commit()


def requeue(rows: list[Download], reason: str) -> list[int]:
    """Put running downloads whose job is gone back at the head of the queue."""
    ids = []
    for row in rows:
        if row.status != RUNNING:
            continue
        if row.cancel_requested:
            finish_cancelled(row)
            continue
        row.status, row.phase, row.task_id, row.speed, row.eta = QUEUED, None, None, None, None
        ids.append(row.id)
    db.session.commit()
    if ids:
        log.warning("re-queued downloads %s: %s", ids, reason)
    return ids


def recover_orphans(live_task_ids: set[str] | None = None) -> list[int]:
    """Downloads marked running whose task is not among ``live_task_ids`` go back to the queue.

    ``None`` means no job can be alive (embedded mode starting: one process).
    """
    rows = db.session.scalars(select(Download).where(Download.status == RUNNING)).all()
    orphans = [r for r in rows if live_task_ids is None or r.task_id not in live_task_ids]
    ids = requeue(orphans, "no live task")
    dispatch()
    return ids


def recover_stale(now=None) -> list[int]:
    """Safety net: running downloads whose job stopped touching the row."""
    cutoff = (now or utcnow()) - STALE_AFTER
    rows = db.session.scalars(select(Download).where(Download.status == RUNNING, Download.heartbeat_at < cutoff)).all()
    return requeue(list(rows), "no heartbeat")


# ----------------------------------------------------------------- managing
def finish_cancelled(row: Download) -> None:
    row.status, row.phase, row.speed, row.eta = CANCELLED, None, None, None
    row.finished_at = utcnow()
    row.task_id = None
    row.cancel_requested = False
    db.session.commit()
    announce(row, "cancelled")


def cancel(row: Download) -> Download:
    if row.status not in ACTIVE:
        raise ApiError(
            "CONFLICT", f"This download is {row.status}; only a queued or running one can be cancelled.", 409
        )
    if row.status == QUEUED or (row.status == RUNNING and row.phase == "waiting"):
        # No job has touched it yet: nothing to stop, nothing partial on disk.
        finish_cancelled(row)
        dispatch()
    else:
        row.cancel_requested = True  # the job checks this between progress reports and stops
        db.session.commit()
    return row


def retry(row: Download) -> Download:
    if row.status not in (FAILED, CANCELLED):
        raise ApiError(
            "CONFLICT", f"This download is {row.status}; only a failed or cancelled one can be retried.", 409
        )
    _refuse_duplicate(row.user_id, row.url, row.id)
    check_space(row.user_id, cfg())
    row.status, row.phase, row.error, row.failures = QUEUED, None, None, None
    row.percent, row.speed, row.eta, row.entry_index, row.entry_title = 0.0, None, None, None, None
    row.finished_at, row.task_id, row.cancel_requested = None, None, False
    row.url_key = url_key(row.url)  # a row the migration left without one (an old duplicate) gets it now
    _commit_unless_duplicate(row.user_id, row.url, row.id)
    announce(row, "queued", queue_position=queue_positions().get(row.id))
    dispatch()
    return row


def delete(row: Download) -> None:
    """Remove the row and its files; a running job notices the row is gone and stops."""
    folder = folder_of(row)
    names = [f["name"] for f in (row.files or [])]
    shared = _names_listed_elsewhere(row)
    was_active = row.is_active
    db.session.delete(row)
    db.session.commit()
    if folder is not None:
        remove_files(folder, [n for n in names if n not in shared], user_dir(row.user_id))
    if was_active:
        dispatch()


def _names_listed_elsewhere(row: Download) -> set[str]:
    """File names another download of the same user also lists in the same folder (kept on delete)."""
    if not row.folder:
        return set()
    others = db.session.scalars(
        select(Download).where(Download.user_id == row.user_id, Download.folder == row.folder, Download.id != row.id)
    )
    return {f["name"] for other in others for f in (other.files or [])}


def remove_files(folder: Path, names: list[str], owner_dir: Path, partial_stems: list[str] = ()) -> None:
    """Delete the named files and the partial files of ``partial_stems``; the folder too when empty."""
    if not folder.is_dir() or not inside(owner_dir, folder):
        return
    targets = [folder / n for n in names]
    for entry in folder.iterdir():
        if any(entry.name.startswith(stem) and is_partial(entry.name) for stem in partial_stems):
            targets.append(entry)
    for path in targets:
        if inside(folder, path) and path.is_file():
            try:
                path.unlink()
            except OSError:
                log.warning("could not remove %s", path)
    try:
        if folder != owner_dir and not any(folder.iterdir()):
            folder.rmdir()
    except OSError:
        pass


def is_partial(name: str) -> bool:
    return name.endswith((".part", ".ytdl", ".temp")) or ".part-Frag" in name or ".temp." in name


def list_query(user: User, status: str | None = None, user_id: int | None = None):
    """``Download`` instances ``user`` may see, newest first."""
    stmt, params = list_statement(user, status, user_id)
    return stmt.params(params)


def list_statement(
    user: User, status: str | None = None, user_id: int | None = None, *, rows: bool = False
) -> tuple[Any, dict[str, Any]]:
    """The statement and its parameters for what ``user`` may see, newest first.

    With ``rows``, Core rows (read-only), each with its owner's folder name
    as ``owner_folder``.  The statement is built once per shape and reused
    with its parameters (``paginate(..., params=)``).
    """
    owner = user.id if not user.is_admin else user_id
    stmt = _list_shape(rows, owner is not None, bool(status))
    params: dict[str, Any] = {}
    if owner is not None:
        params["owner"] = owner
    if status:
        params["status"] = status
    return stmt, params


@lru_cache(maxsize=8)
def _list_shape(rows: bool, by_owner: bool, by_status: bool):
    columns = TABLE.c
    if rows:
        folders = UserFolder.__table__
        stmt = select(TABLE, folders.c.name.label("owner_folder")).outerjoin(
            folders, folders.c.user_id == columns.user_id
        )
    else:
        stmt = select(Download)
    stmt = stmt.order_by(columns.id.desc())
    if by_owner:
        stmt = stmt.where(columns.user_id == bindparam("owner"))
    if by_status:
        stmt = stmt.where(columns.status == bindparam("status"))
    return stmt


def active_for(user_id: int) -> list[Download]:
    return list(
        db.session.scalars(
            select(Download).where(Download.user_id == user_id, Download.status.in_(ACTIVE)).order_by(Download.id)
        )
    )


def queue_length() -> int:
    return db.session.scalar(select(func.count()).select_from(Download).where(Download.status == QUEUED)) or 0


def on_collection_ready(payload: dict[str, Any]) -> None:
    """``plex.collection.ready``: remember the collection so the download page can link to it."""
    try:
        download_id = int(payload.get("download_id"))
    except (TypeError, ValueError):
        return
    row = db.session.get(Download, download_id)
    if row is None or (payload.get("user_id") is not None and payload.get("user_id") != row.user_id):
        return
    # The collection in the Plex web app when the event names it, else its page in MediaNest.
    url = payload.get("plex_url") or payload.get("url")
    if isinstance(url, str) and (url.startswith("//") or not url.lower().startswith(("http://", "https://", "/"))):
        url = None  # never render a javascript: link from another plugin's event
    row.collection_key = str(payload.get("collection_key") or "")[:100] or None
    row.collection_url = url[:1000] if isinstance(url, str) else None
    db.session.commit()
