"""Posters through MediaNest: each picture fetched once, kept on disk, served from there.

The browser asks MediaNest, never the service or image server behind it: the
service's token stays here, the household's browsers talk to no third party,
and a page full of posters costs the source one fetch per poster, not one per
visitor.  What may be fetched, and from where, is the caller's business; this
module keeps the files (``<data dir>/cache/<name>/<key><suffix>``), serves
them, and forgets those nobody looked at for a while.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path

from flask import Response, current_app, send_file

from medianest.api import ApiError

KEEP_DAYS = 30
# What a poster may be, and the file suffix it is kept under.
SUFFIXES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif"}
BROWSER_CACHE_SECONDS = 86400


class PosterCache:
    """The poster files of one source, kept in the instance folder's ``cache/<name>``."""

    def __init__(self, name: str, types: tuple[str, ...] = tuple(SUFFIXES)) -> None:
        self.name = name
        self.suffixes = {kind: SUFFIXES[kind] for kind in types}
        self.types = {suffix: kind for kind, suffix in self.suffixes.items()}

    def folder(self) -> Path:
        path = Path(current_app.config["MEDIANEST"].data_dir).resolve() / "cache" / self.name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def poster(self, *identity: object, fetch: Callable[[], tuple[bytes, str]]) -> tuple[Path, str]:
        """The file and content type of the poster ``identity`` names; ``fetch()`` gives its bytes and type
        when it is not on disk yet."""
        key = hashlib.sha256("\0".join(str(part) for part in identity).encode()).hexdigest()
        root = self.folder()
        for candidate in root.glob(f"{key}.*"):
            if candidate.suffix in self.types:
                return candidate, self.types[candidate.suffix]
        body, kind = fetch()
        if kind not in self.suffixes:
            raise ApiError("SERVICE_BAD_ANSWER", f"A poster came as {kind}, which MediaNest does not serve.", 502)
        target = root / f"{key}{self.suffixes[kind]}"
        scratch = root / f".{key}.{os.getpid()}.tmp"
        scratch.write_bytes(body)
        os.replace(scratch, target)  # readers never see half a file
        return target, kind

    def prune(self, keep_days: int = KEEP_DAYS) -> int:
        """Delete posters not served for ``keep_days`` (serving one touches its file's mtime)."""
        cutoff = time.time() - keep_days * 86400
        removed = 0
        for entry in self.folder().iterdir():
            try:
                if entry.stat().st_mtime < cutoff:
                    entry.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed


def poster_response(file: Path, kind: str) -> Response:
    """A kept poster as the answer to the browser, which may keep it a day (for this person only)."""
    with contextlib.suppress(OSError):  # a read-only cache still serves
        os.utime(file)
    response = send_file(file, mimetype=kind, max_age=BROWSER_CACHE_SECONDS, conditional=True, etag=True)
    response.headers["Cache-Control"] = f"private, max-age={BROWSER_CACHE_SECONDS}"
    return response
