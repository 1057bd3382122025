"""One download run with yt-dlp as a library: list, then fetch entry by entry.

First a flat listing gives the title and the entries; then each entry is
downloaded on its own into ``<root>/<user id>/<playlist title>/`` under a name
made here (``paths.entry_file_stem``), so a failing entry is recorded and the
rest go on, network errors are retried with backoff, and the row always says
which entry is running.  yt-dlp's progress hook drives the progress events
(throttled), the cancel check and the quota check; ``continuedl`` resumes a
``.part`` left by a killed worker, and a finished file is never fetched again
(yt-dlp skips a file that already exists under the same name).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from medianest_youtube import downloads
from medianest_youtube.models import COMPLETED, FAILED, RUNNING, Download
from medianest_youtube.paths import entry_file_stem, folder_size, inside, playlist_folder
from medianest_youtube.urls import host_allowed
from sqlalchemy import func, update
from sqlalchemy.orm.exc import ObjectDeletedError, StaleDataError
from yt_dlp import YoutubeDL
from yt_dlp.postprocessor.common import PostProcessor
from yt_dlp.utils import DownloadCancelled, DownloadError

from medianest.plugins import EgressProxy, EgressRefused
from medianest.plugins.db import db, utcnow

log = logging.getLogger("medianest.youtube.job")

PROGRESS_INTERVAL = 0.3  # seconds between progress events (and row writes) of one download
HEARTBEAT_INTERVAL = 15.0
PROXY_GRACE = 2.0  # seconds the egress proxy waits beyond yt-dlp's socket timeout

FORMAT_SELECTORS = {
    "best": "bv*+ba/b",
    "1080p": "bv*[height<=?1080]+ba/b[height<=?1080]",
    "720p": "bv*[height<=?720]+ba/b[height<=?720]",
    "audio": "ba/b",
}

# What yt-dlp fetches through its own HTTP layer, or through ffmpeg over HTTP(S): both go through the
# egress proxy. Anything else (rtmp, rtsp, mms, ftp...) would connect past it, so it is not downloaded.
PROXIED_PROTOCOLS = frozenset(
    {"http", "https", "m3u8", "m3u8_native", "http_dash_segments", "http_dash_segments_generator", "ism", "f4m"}
)

_NETWORK_WORDS = re.compile(
    r"timed? ?out|connection (refused|reset|aborted)|temporary failure|name or service not known|network is unreachable"
    r"|incompleteread|remote end closed|giving up after|HTTP Error (5\d\d|429)",
    re.IGNORECASE,
)


class CancelRequested(DownloadCancelled):
    msg = "cancelled"


class Superseded(DownloadCancelled):
    """The row was deleted, or handed to another task: stop without touching it."""

    msg = "superseded"


class QuotaReached(DownloadCancelled):
    msg = "quota reached"


class UnsafePath(Exception):
    """A file name that would land outside the user's download folder."""


def is_network_error(exc: BaseException) -> bool:
    """True for failures worth retrying: timeouts, refused or dropped connections, 5xx and 429."""
    from yt_dlp.networking.exceptions import HTTPError, TransportError

    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, HTTPError):
            return item.status >= 500 or item.status == 429
        if isinstance(item, (TransportError, TimeoutError, ConnectionError)):
            return True
        exc_info = getattr(item, "exc_info", None)
        if isinstance(exc_info, tuple) and len(exc_info) > 1:
            stack.append(exc_info[1])
        stack.extend([getattr(item, "cause", None), item.__cause__, item.__context__])
    return bool(_NETWORK_WORDS.search(str(exc)))


def readable_error(exc: BaseException) -> str:
    """yt-dlp's message without its prefixes: "Unable to download webpage: HTTP Error 404: File not found"."""
    if isinstance(exc, EgressRefused):
        return f"Refused to connect: {exc.message}."[:500]
    text = str(exc).strip()
    text = re.sub(r"^(ERROR:\s*)", "", text)
    text = re.sub(r"^\[[\w:.-]+\]\s*[^:\s]*:\s*", "", text)
    text = re.sub(r"\s*\(caused by .*\)\s*$", "", text, flags=re.DOTALL)
    text = re.sub(r";\s*please report this issue.*$", "", text, flags=re.IGNORECASE | re.DOTALL)
    return (text or exc.__class__.__name__)[:500]


class _QuietLogger:
    """yt-dlp writes here instead of the terminal; errors also arrive as exceptions."""

    def debug(self, msg: str) -> None:
        log.debug(msg)

    def info(self, msg: str) -> None:
        log.debug(msg)

    def warning(self, msg: str) -> None:
        log.info("yt-dlp: %s", msg)

    def error(self, msg: str) -> None:
        log.info("yt-dlp: %s", msg)


class _NameEntry(PostProcessor):
    """Runs just before yt-dlp picks the file name: the name is ours, made safe from the title."""

    def __init__(self, job: DownloadJob) -> None:
        super().__init__()
        self.job = job

    def run(self, info: dict) -> tuple[list, dict]:
        info["medianest_stem"] = entry_file_stem(
            self.job.index, self.job.entry_title or info.get("title"), info.get("id"), self.job.index_width
        )
        return [], info


class _GuardPath(PostProcessor):
    """Last check before bytes are written: the file lands inside the download folder."""

    def __init__(self, job: DownloadJob, ydl: YoutubeDL) -> None:
        super().__init__(ydl)
        self.job = job
        self.ydl = ydl

    def run(self, info: dict) -> tuple[list, dict]:
        target = self.ydl.prepare_filename(info)
        if not inside(self.job.folder, target):
            raise UnsafePath(f"refusing to write outside the download folder: {target!r}")
        for chosen in info.get("requested_formats") or [info]:
            protocol = str(chosen.get("protocol") or "")
            if any(p not in PROXIED_PROTOCOLS for p in protocol.split("+")):
                raise DownloadError(
                    f"This entry is served over {protocol or 'an unknown protocol'}, which is not downloaded."
                )
        return [], info


class DownloadJob:
    def __init__(self, download_id: int, task_id: str) -> None:
        self.download_id = download_id
        self.task_id = task_id
        self.conf = downloads.cfg()
        self.row: Download | None = None
        self.folder: Path = Path()
        self.owner_dir: Path = Path()
        self.index = 0
        self.index_width = 2
        self.entry_title: str | None = None
        self.entry_count = 0
        self.entries_done = 0
        self.files: list[dict[str, Any]] = []
        self.failures: list[dict[str, Any]] = []
        self.stems_this_run: list[str] = []
        self.used_at_start = 0
        self.bytes_this_run = 0
        self._last_report = 0.0
        self._stop_heartbeat = threading.Event()
        self.proxy: EgressProxy | None = None

    # ------------------------------------------------------------- lifecycle
    def run(self) -> None:
        if not self._claim():
            return
        heartbeat = threading.Thread(target=self._heartbeat, args=(current_app._get_current_object(),), daemon=True)
        heartbeat.start()
        try:
            # Every connection of this run (yt-dlp's and ffmpeg's) goes through the egress guard.
            # The proxy waits a little longer than yt-dlp does, so a silent server is reported by yt-dlp
            # as its own timeout, the way it is without the proxy.
            proxy_timeout = self.conf.socket_timeout + PROXY_GRACE
            with EgressProxy(self.conf.egress_policy, timeout=proxy_timeout) as self.proxy:
                self._run()
        except Superseded:
            db.session.rollback()
            self._cleanup_after_delete()
        except CancelRequested:
            db.session.rollback()
            self._remove_partials()
            row = db.session.get(Download, self.download_id)
            if row is not None:
                row.files = self._files_on_disk()
                downloads.finish_cancelled(row)
        except QuotaReached:
            db.session.rollback()
            self._remove_partials()
            self._finish(
                FAILED, "Your storage quota is used up; the download stopped. Delete some downloads and retry."
            )
        except Exception as exc:  # a bug or the disk: the row says so, the trace goes to the log
            log.exception("download %s failed", self.download_id)
            db.session.rollback()
            self._finish(FAILED, f"The download stopped unexpectedly ({exc.__class__.__name__}); see the server log.")
        finally:
            self._stop_heartbeat.set()
            db.session.rollback()
            downloads.dispatch()

    def _claim(self) -> bool:
        now = utcnow()
        result = db.session.execute(
            update(Download)
            .where(Download.id == self.download_id, Download.task_id == self.task_id, Download.status == RUNNING)
            .values(
                phase="listing",
                started_at=func.coalesce(Download.started_at, now),
                heartbeat_at=now,
                attempts=Download.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        if result.rowcount != 1:
            log.info("download %s: task %s is not the current one; dropped", self.download_id, self.task_id)
            return False
        self.row = db.session.get(Download, self.download_id)
        if self.row.cancel_requested:
            downloads.finish_cancelled(self.row)
            return False
        return True

    def _heartbeat(self, app) -> None:
        with app.app_context():
            while not self._stop_heartbeat.wait(HEARTBEAT_INTERVAL):
                try:
                    db.session.execute(
                        update(Download)
                        .where(Download.id == self.download_id, Download.task_id == self.task_id)
                        .values(heartbeat_at=utcnow())
                    )
                    db.session.commit()
                except Exception:
                    db.session.rollback()
                    log.warning("heartbeat of download %s failed", self.download_id, exc_info=True)

    # ------------------------------------------------------------- the work
    def _run(self) -> None:
        row = self.row
        self.owner_dir = downloads.user_dir(row.user_id, self.conf)
        try:
            downloads.check_space(row.user_id, self.conf)
        except Exception as exc:
            self._finish(FAILED, getattr(exc, "message", str(exc)))
            return
        self.used_at_start = folder_size(self.owner_dir)

        listing = self._with_retries(lambda: self._list(row.url), what="the listing")
        if isinstance(listing, Exception):
            self._finish(FAILED, readable_error(listing))
            return
        title, entries = listing
        self.entry_count = len(entries)
        self.index_width = max(2, len(str(self.entry_count)))
        self.owner_dir.mkdir(parents=True, exist_ok=True)
        try:  # a re-run keeps its folder, so partial files are found again
            downloads.folder_of_its_own(row, row.folder or playlist_folder(self.owner_dir, title))
        except (StaleDataError, ObjectDeletedError):
            db.session.rollback()
            raise Superseded() from None
        self.folder = self.owner_dir / row.folder
        if not inside(self.owner_dir, self.folder):
            raise UnsafePath(f"download folder outside the user's folder: {self.folder!r}")
        self.folder.mkdir(parents=True, exist_ok=True)
        row.title = (title or row.url)[:500]
        row.entry_count = self.entry_count
        row.phase = "downloading"
        self._commit_row()
        if not entries:
            self._finish(FAILED, "The playlist has no entries.")
            return

        with YoutubeDL(self._ydl_options()) as ydl:
            ydl.add_post_processor(_NameEntry(self), when="video")
            ydl.add_post_processor(_GuardPath(self, ydl), when="before_dl")
            for index, entry in enumerate(entries, start=1):
                self._download_entry(ydl, index, entry)
                self.entries_done = index
                self._report(force=True)

        if self.files:
            self._finish(COMPLETED, None)
        else:
            reason = (
                self.failures[0]["error"] if len(self.failures) == 1 else "None of the entries could be downloaded."
            )
            self._finish(FAILED, reason)

    def _list(self, url: str) -> tuple[str | None, list[dict[str, Any]]]:
        options = {**self._base_options(), "extract_flat": "in_playlist", "skip_download": True}
        with YoutubeDL(options) as ydl:
            info = ydl.extract_info(url, download=False)
        if info is None:
            raise DownloadError("Nothing could be read from this URL.")
        kind = info.get("_type", "video")
        if kind in ("playlist", "multi_video"):
            entries = [e for e in (info.get("entries") or []) if e]
            return info.get("title") or info.get("id"), entries
        return info.get("title") or info.get("id"), [
            {"_type": "url", "url": info.get("webpage_url") or url, "title": info.get("title"), "id": info.get("id")}
        ]

    def _download_entry(self, ydl: YoutubeDL, index: int, entry: dict[str, Any]) -> None:
        self.index = index
        self.entry_title = (entry.get("title") or "")[:500] or None
        self.bytes_current = 0
        self.fraction_current = 0.0
        self._report(force=True, speed=None, eta=None)
        url = entry.get("url") or entry.get("webpage_url") or ""
        if urlsplit(url).scheme.lower() not in ("http", "https") or not host_allowed(url, self.conf.allowed_hosts):
            self._fail_entry(index, entry, f"Entry on a host that is not allowed: {url[:200]}")
            return
        stem = entry_file_stem(index, self.entry_title, entry.get("id"), self.index_width)
        self.stems_this_run.append(f"{index:0{self.index_width}d} - ")

        mark = len(self.proxy.refusals) if self.proxy else 0
        outcome = self._with_retries(lambda: ydl.process_ie_result(dict(entry), download=True), what=f"entry {index}")
        if isinstance(outcome, Exception):
            self._fail_entry(index, entry, readable_error(outcome))
            return
        info = outcome
        path = self._final_path(info)
        refused = self.proxy.refusals_since(mark) if self.proxy else []
        if refused:  # a helper skipped what the guard refused (ffmpeg drops a segment it cannot open)
            if path is not None:
                path.unlink(missing_ok=True)
            self._fail_entry(index, entry, readable_error(refused[0]))
            return
        if path is None:
            self._fail_entry(index, entry, "yt-dlp finished without a file.")
            return
        size = path.stat().st_size
        self.bytes_this_run += size
        self.files.append({"name": path.name, "size": size, "index": index, "title": self.entry_title or stem})

    def _final_path(self, info: dict | None) -> Path | None:
        if not info:
            return None
        candidates = [d.get("filepath") for d in info.get("requested_downloads") or []]
        candidates += [info.get("filepath"), info.get("_filename")]
        for candidate in candidates:
            if candidate and Path(candidate).is_file() and inside(self.folder, candidate):
                return Path(candidate)
        return None

    def _with_retries(self, action, what: str):
        """Run ``action``; network errors are retried with exponential backoff, others returned."""
        delay = self.conf.retry_backoff
        for attempt in range(self.conf.retries + 1):
            mark = len(self.proxy.refusals) if self.proxy else 0
            try:
                return action()
            except DownloadCancelled:
                raise
            except DownloadError as exc:
                if isinstance((getattr(exc, "exc_info", None) or (None, None))[1], DownloadCancelled):
                    raise exc.exc_info[1] from None
                refused = self.proxy.refusals_since(mark) if self.proxy else []
                if refused:  # the guard said no: asking again gets the same answer
                    return refused[0]
                if not is_network_error(exc) or attempt == self.conf.retries:
                    return exc
                log.info(
                    "download %s: %s failed (%s); retry in %.1f s", self.download_id, what, readable_error(exc), delay
                )
                self._sleep(delay)
                delay *= 2
        return None

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
            self._check_row()

    def _fail_entry(self, index: int, entry: dict[str, Any], error: str) -> None:
        url = (entry.get("url") or "").split("#", 1)[0]  # without yt-dlp's smuggled data
        self.failures.append({"index": index, "title": self.entry_title, "url": url, "error": error})
        log.info("download %s: entry %s failed: %s", self.download_id, index, error)

    # ------------------------------------------------------------- yt-dlp
    def _base_options(self) -> dict[str, Any]:
        return {
            "quiet": True,
            "no_warnings": True,
            "noprogress": True,
            "logger": _QuietLogger(),
            "socket_timeout": self.conf.socket_timeout,
            "retries": 1,  # the job retries network errors itself, with backoff
            "fragment_retries": 1,
            "extractor_retries": 0,
            "ignoreerrors": False,
            "color": {"stdout": "never", "stderr": "never"},
            "cachedir": False,
            # yt-dlp sends every request through the guard, and hands the proxy to ffmpeg
            "proxy": self.proxy.url if self.proxy else None,
            # a fragment the guard refuses fails the entry instead of leaving a hole in the file
            "skip_unavailable_fragments": False,
        }

    def _ydl_options(self) -> dict[str, Any]:
        options = {
            **self._base_options(),
            "format": FORMAT_SELECTORS.get(self.row.format, FORMAT_SELECTORS["best"]),
            "paths": {"home": str(self.folder), "temp": str(self.folder)},
            "outtmpl": {"default": "%(medianest_stem)s.%(ext)s"},
            "continuedl": True,
            "nopart": False,
            "overwrites": False,
            "noplaylist": True,
            "trim_file_name": 200,
            "windowsfilenames": True,
            "progress_hooks": [self._on_progress],
            "updatetime": False,
        }
        if self.row.format == "audio":
            options["postprocessors"] = [{"key": "FFmpegExtractAudio", "preferredcodec": "m4a"}]
        return options

    def _on_progress(self, d: dict[str, Any]) -> None:
        status = d.get("status")
        if status == "downloading":
            done = d.get("downloaded_bytes") or 0
            total = d.get("total_bytes") or d.get("total_bytes_estimate") or 0
            self.fraction_current = min(1.0, done / total) if total else 0.0
            quota = self.conf.quota_bytes
            if quota is not None and self.used_at_start + self.bytes_this_run + done > quota:
                raise QuotaReached()
            self._report(speed=d.get("speed"), eta=d.get("eta"))
        elif status == "finished":
            self.fraction_current = 1.0
            self._report(force=True, speed=None, eta=None)

    # ------------------------------------------------------------- the row
    def _percent(self) -> float:
        if not self.entry_count:
            return 0.0
        done = min(self.entry_count, max(self.entries_done, self.index - 1 if self.index else 0))
        current = self.fraction_current if self.index > done else 0.0
        return round(min(100.0, 100.0 * (done + current) / self.entry_count), 1)

    def _report(self, force: bool = False, speed: float | None = None, eta: float | None = None) -> None:
        """Write progress to the row and publish it, at most every PROGRESS_INTERVAL; also the cancel check."""
        now = time.monotonic()
        if not force and now - self._last_report < PROGRESS_INTERVAL:
            return
        self._last_report = now
        row = self._check_row()
        row.percent = self._percent()
        row.entry_index = self.index or None
        row.entry_title = self.entry_title
        row.speed = float(speed) if speed else None
        row.eta = int(eta) if eta is not None else None
        row.heartbeat_at = utcnow()
        self._commit_row()
        downloads.announce(row, "progress")

    def _check_row(self) -> Download:
        """The row, fresh from the database; raises when the job must stop."""
        try:
            db.session.commit()  # end the read snapshot: see the web's changes
            row = db.session.get(Download, self.download_id, populate_existing=True)
        except ObjectDeletedError:
            raise Superseded() from None
        if row is None or row.task_id != self.task_id or row.status != RUNNING:
            raise Superseded()
        if row.cancel_requested:
            raise CancelRequested()
        self.row = row
        return row

    def _commit_row(self) -> None:
        try:
            self.row.files = list(self.files) or self.row.files
            self.row.failures = list(self.failures) or None
            db.session.commit()
        except (StaleDataError, ObjectDeletedError):
            db.session.rollback()
            raise Superseded() from None

    def _finish(self, status: str, error: str | None) -> None:
        row = db.session.get(Download, self.download_id, populate_existing=True)
        if row is None or row.task_id != self.task_id:
            return
        row.status = status
        row.phase = None
        row.error = error
        row.files = self._files_on_disk() if status == COMPLETED else (list(self.files) or row.files)
        row.failures = list(self.failures) or None
        if status == COMPLETED:
            row.percent = 100.0
        row.speed = row.eta = None
        row.finished_at = utcnow()
        row.task_id = None
        db.session.commit()
        self.row = row
        downloads.announce(row, "completed" if status == COMPLETED else "failed")

    def _files_on_disk(self) -> list[dict[str, Any]]:
        seen, kept = set(), []
        for f in self.files:
            path = self.folder / f["name"]
            if f["name"] not in seen and path.is_file():
                seen.add(f["name"])
                kept.append({**f, "size": path.stat().st_size})
        return kept

    def _remove_partials(self) -> None:
        if self.folder and self.folder.is_dir():
            downloads.remove_files(self.folder, [], self.owner_dir, partial_stems=self.stems_this_run)

    def _cleanup_after_delete(self) -> None:
        """The row was deleted while we ran: take away what this run wrote."""
        if db.session.get(Download, self.download_id) is not None:
            return  # handed to another task: it continues our partial files
        if self.folder and self.folder.is_dir():
            downloads.remove_files(
                self.folder, [f["name"] for f in self.files], self.owner_dir, partial_stems=self.stems_this_run
            )
