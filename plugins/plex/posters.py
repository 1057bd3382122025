"""Posters through MediaNest: Plex's transcoder scales them, the bytes are kept on disk.

The browser never talks to Plex (the token stays here), and only image paths
Plex itself put in an answer are fetched: this is not an open proxy.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from medianest_plex.browse import is_known_image, server

from medianest.plugins.api import ApiError
from medianest.plugins.settings import data_dir

MIN_SIDE, MAX_SIDE = 16, 1000
KEEP_DAYS = 30
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif"}
TYPES = {v: k for k, v in EXTENSIONS.items()}


def folder() -> Path:
    path = data_dir().resolve() / "cache" / "plex-posters"
    path.mkdir(parents=True, exist_ok=True)
    return path


def snap(value: int | None, default: int) -> int:
    """Sizes are clamped and rounded to tens, so the cache holds a few variants, not thousands."""
    if value is None:
        value = default
    value = max(MIN_SIDE, min(MAX_SIDE, int(value)))
    return int(round(value / 10.0) * 10) or MIN_SIDE


def _name(path: str, width: int, height: int) -> str:
    return hashlib.sha256(f"{path}\0{width}x{height}".encode()).hexdigest()


def poster(path: str, width: int, height: int) -> tuple[Path, str]:
    """The cached file and content type of one poster, fetched from Plex when not on disk yet."""
    if not path or not is_known_image(path):
        raise ApiError("NOT_FOUND", "MediaNest only shows images that Plex named in its answers.")
    name = _name(path, width, height)
    root = folder()
    for candidate in root.glob(f"{name}.*"):
        if candidate.suffix in TYPES:
            return candidate, TYPES[candidate.suffix]
    body, kind = server().image(path, width, height)
    suffix = EXTENSIONS.get(kind)
    if suffix is None:
        raise ApiError("SERVICE_BAD_ANSWER", f"Plex sent a poster as {kind}, which MediaNest does not serve.", 502)
    target = root / f"{name}{suffix}"
    scratch = root / f".{name}.{os.getpid()}.tmp"
    scratch.write_bytes(body)
    os.replace(scratch, target)  # readers never see half a file
    return target, kind


def prune(keep_days: int = KEEP_DAYS) -> int:
    """Delete posters not fetched for ``keep_days`` (the file's mtime is touched on each use)."""
    cutoff = time.time() - keep_days * 86400
    removed = 0
    for entry in folder().iterdir():
        try:
            if entry.stat().st_mtime < cutoff:
                entry.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed
