"""Posters through MediaNest: Plex's transcoder scales them, the bytes are kept on disk.

The browser never talks to Plex (the token stays here), and only image paths
Plex itself put in an answer are fetched: this is not an open proxy.
"""

from __future__ import annotations

from pathlib import Path

from medianest_plex.browse import is_known_image, server

from medianest.plugins.api import ApiError
from medianest.plugins.cache import KEEP_DAYS, PosterCache

MIN_SIDE, MAX_SIDE = 16, 1000
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif"}
TYPES = {v: k for k, v in EXTENSIONS.items()}
POSTERS = PosterCache("plex-posters", tuple(EXTENSIONS))


def folder() -> Path:
    return POSTERS.folder()


def snap(value: int | None, default: int) -> int:
    """Sizes are clamped and rounded to tens, so the cache holds a few variants, not thousands."""
    if value is None:
        value = default
    value = max(MIN_SIDE, min(MAX_SIDE, int(value)))
    return int(round(value / 10.0) * 10) or MIN_SIDE


def poster(path: str, width: int, height: int) -> tuple[Path, str]:
    """The cached file and content type of one poster, fetched from Plex when not on disk yet."""
    if not path or not is_known_image(path):
        raise ApiError("NOT_FOUND", "MediaNest only shows images that Plex named in its answers.")

    def fetch() -> tuple[bytes, str]:
        body, kind = server().image(path, width, height)
        if kind not in EXTENSIONS:
            raise ApiError("SERVICE_BAD_ANSWER", f"Plex sent a poster as {kind}, which MediaNest does not serve.", 502)
        return body, kind

    return POSTERS.poster(path, f"{width}x{height}", fetch=fetch)


def prune(keep_days: int = KEEP_DAYS) -> int:
    """Delete posters not fetched for ``keep_days`` (the file's mtime is touched on each use)."""
    return POSTERS.prune(keep_days)
