"""A stand-in for TMDB's image server (image.tmdb.org), where Overseerr's ``posterPath`` points.

``GET /t/p/<size>/<name>`` answers a small PNG (a different colour per name,
so a test can tell posters apart) for every name in ``posters``; any other
name is a 404, as on the real server. ``redirect_to`` makes every answer a
302 elsewhere instead, which MediaNest must not follow.
"""

from __future__ import annotations

import hashlib
import struct
import zlib

from flask import Response, abort, redirect

from tests.standins.base import Standin

SIZES = {"w92", "w154", "w185", "w300", "w342", "w500", "w780", "original"}


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A plain PNG of one colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


class TmdbImagesStandin(Standin):
    name = "tmdb-images"

    def __init__(self, posters: set[str] | None = None) -> None:
        super().__init__()
        self.posters: set[str] | None = posters  # None: every name exists
        self.redirect_to: str | None = None

        @self.app.get("/t/p/<size>/<name>")
        def image(size: str, name: str):
            if size not in SIZES:
                abort(404)
            if self.redirect_to:
                return redirect(self.redirect_to + name, 302)
            if self.posters is not None and "/" + name not in self.posters:
                abort(404)
            digest = hashlib.sha256(name.encode()).digest()
            return Response(png(20, 30, (digest[0], digest[1], digest[2])), mimetype="image/png")

    @property
    def poster_url(self) -> str:
        """What ``MEDIANEST_OVERSEERR_POSTER_URL`` is set to."""
        return f"{self.url}/t/p/w300"

    def fetches(self) -> list[str]:
        return [r.path for r in self.requests if r.path.startswith("/t/p/")]
