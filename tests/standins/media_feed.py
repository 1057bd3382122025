"""Stand-in media site that yt-dlp can download a playlist from, offline.

Reproduces the local HTTP server behind ``tests/contracts/yt-dlp/``
(yt-dlp 2026.10.26, generic extractor):

* ``/feeds/<name>.xml`` — an RSS 2.0 feed. yt-dlp reads it as a playlist:
  title = ``<channel><title>``, one entry per ``<item>``, entry URL = the
  ABSOLUTE ``<enclosure url>``, entry id = ``<guid>`` (hence file names like
  ``01-Clip one [clip1].mp4``). Served as ``application/rss+xml`` so the
  generic extractor parses it instead of taking it for a direct media link.
* ``/media/<id>.mp4`` — the media (``Content-Type: video/mp4``, exact
  ``Content-Length``, ``Accept-Ranges: bytes``). yt-dlp GETs each entry twice:
  once in the extractor (it only looks at the headers) and once to download.
  ``Range: bytes=N-`` (how yt-dlp resumes a ``.part`` file) answers 206 with
  ``Content-Range``; an unsatisfiable range answers 416. Files are real MP4s
  made by ffmpeg's ``testsrc`` when ffmpeg is on PATH, padded with an MP4
  ``free`` box to the exact size asked; otherwise plain bytes.
* A broken entry, ``/missing.mp4`` and unknown files: ``404 File not found``
  (Python's http.server wording, which yt-dlp prints:
  ``HTTP Error 404: File not found``).
* ``/not-a-video.html`` — a page with only ``<a href=...mp4>`` links: yt-dlp
  says ``Unsupported URL``.

Test knobs: ``bytes_per_second`` (throttle, readable live), ``hang`` (media
requests are accepted and never answered), and a log of every media request
(``media_log``: Range header seen, status, bytes actually written).
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate

from flask import Response, request

from tests.standins.base import Standin, shutdown_socket

NOT_FOUND = "404 File not found"
NOT_FOUND_BODY = (
    b'<!DOCTYPE HTML>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
    b"<title>Error response</title>\n</head>\n<body>\n<h1>Error response</h1>\n"
    b"<p>Error code: 404</p>\n<p>Message: File not found.</p>\n</body>\n</html>\n"
)
NOT_A_VIDEO_HTML = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Household videos</title></head>
<body>
<h1>Household videos</h1>
<p>Nothing to play here, only links:</p>
<ul>
<li><a href="/media/clip1.mp4">clip1.mp4</a></li>
<li><a href="/media/clip2.mp4">clip2.mp4</a></li>
</ul>
</body>
</html>
"""
_CLIP_CACHE_DIR = os.path.join(tempfile.gettempdir(), "medianest-standin-media")
_clip_lock = threading.Lock()


def base_clip(duration: int = 2, size: str = "160x120", rate: int = 10) -> bytes | None:
    """A real MP4 from ffmpeg's test source, cached on disk; None without ffmpeg."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return None
    path = os.path.join(_CLIP_CACHE_DIR, f"testsrc-{duration}s-{size}-{rate}fps.mp4")
    with _clip_lock:
        if not os.path.exists(path):
            os.makedirs(_CLIP_CACHE_DIR, exist_ok=True)
            tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.mp4"
            cmd = [
                ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
                "-f", "lavfi", "-i", f"testsrc=duration={duration}:size={size}:rate={rate}",
                "-pix_fmt", "yuv420p", "-movflags", "+faststart", tmp,
            ]  # fmt: skip
            try:
                subprocess.run(cmd, check=True, capture_output=True, timeout=60)
                os.replace(tmp, path)
            except (OSError, subprocess.SubprocessError):
                if os.path.exists(tmp):
                    os.unlink(tmp)
                return None
        with open(path, "rb") as fh:
            return fh.read()


def make_media(file_id: str, size: int, clip: bytes | None) -> bytes:
    """Exactly ``size`` bytes: ``clip`` + an MP4 ``free`` box, else plain bytes.

    The padding is derived from ``file_id`` so every file differs. When the
    clip does not fit (or there is none) the bytes start with an ``ftyp`` box
    and are not playable.
    """
    seed = hashlib.sha256(file_id.encode()).digest()

    def filler(n: int) -> bytes:
        return (seed * (n // len(seed) + 1))[:n]

    if clip is not None and (size == len(clip) or size >= len(clip) + 8):
        pad = size - len(clip)
        if pad == 0:
            return clip
        return clip + struct.pack(">I4s", pad, b"free") + filler(pad - 8)
    ftyp = struct.pack(">I4s4sI4s4s", 24, b"ftyp", b"isom", 0x200, b"isom", b"mp41")
    if size < len(ftyp) + 8:
        return filler(size)
    rest = size - len(ftyp)
    return ftyp + struct.pack(">I4s", rest, b"free") + filler(rest - 8)


@dataclass
class MediaEntry:
    id: str
    title: str
    size: int
    broken: bool = False

    @property
    def file(self) -> str:
        return f"{self.id}.mp4"


@dataclass
class Playlist:
    name: str
    title: str
    description: str
    entries: list[MediaEntry]


@dataclass
class MediaServe:
    """One request for a media file, as the server handled it."""

    file: str
    method: str
    range_header: str | None
    status: int
    start: int = 0
    length: int = 0  # bytes the response promised (Content-Length)
    bytes_sent: int = 0  # bytes actually handed to the socket
    completed: bool = False
    aborted: bool = False  # client went away, or stop() cut it
    at: float = field(default_factory=time.monotonic)


class MediaFeedStandin(Standin):
    """An RSS + MP4 site for yt-dlp; see the module docstring."""

    name = "media-feed"

    def __init__(
        self,
        *,
        bytes_per_second: int | None = None,
        hang: bool = False,
        default_size: int = 256 * 1024,
        use_ffmpeg: bool | None = None,
        hang_seconds: float = 300.0,
    ) -> None:
        super().__init__()
        self.bytes_per_second = bytes_per_second
        self.hang = hang
        self.default_size = default_size
        self.hang_seconds = hang_seconds
        self.use_ffmpeg = shutil.which("ffmpeg") is not None if use_ffmpeg is None else use_ffmpeg
        self.playlists: dict[str, Playlist] = {}
        self.files: dict[str, bytes] = {}  # "<id>.mp4" -> content
        self.media_log: list[MediaServe] = []
        self.created = time.time()  # Last-Modified of every file
        self._clip: bytes | None = None
        self._clip_done = False
        self._state = threading.RLock()
        self._routes()

    # ------------------------------------------------------------ test helpers

    def _content(self, file_id: str, size: int) -> bytes:
        with self._state:
            if self.use_ffmpeg and not self._clip_done:
                self._clip = base_clip()
                self._clip_done = True
            return make_media(file_id, size, self._clip if self.use_ffmpeg else None)

    def add_video(self, file_id: str, size: int | None = None) -> str:
        """Serve ``/media/<file_id>.mp4``; returns its URL (server must be started)."""
        file_id = _strip_mp4(file_id)
        data = self._content(file_id, self.default_size if size is None else size)
        with self._state:
            self.files[f"{file_id}.mp4"] = data
        return self.url_for_video(file_id) if self.port is not None else f"/media/{file_id}.mp4"

    def add_playlist(
        self,
        name: str,
        title: str,
        entries: Sequence[tuple[str, int] | tuple[str, int, str] | str] = (),
        broken: Sequence[int] = (),
        description: str = "MediaNest yt-dlp fixture",
    ) -> Playlist:
        """Publish ``/feeds/<name>.xml``.

        ``entries``: ``(title, size_bytes)``, ``(title, size_bytes, id)`` or a
        bare title (``default_size``). Ids default to ``<name>-<n>`` (n from 1),
        the file is ``<id>.mp4``. ``broken``: 0-based indexes whose enclosure
        answers 404 (their bytes are never served).
        """
        items: list[MediaEntry] = []
        for i, spec in enumerate(entries):
            if isinstance(spec, str):
                spec = (spec, self.default_size)
            entry_title, size = spec[0], spec[1]
            entry_id = spec[2] if len(spec) > 2 else f"{name}-{i + 1}"  # type: ignore[misc]
            item = MediaEntry(id=entry_id, title=entry_title, size=int(size), broken=i in set(broken))
            if not item.broken:
                data = self._content(item.id, item.size)
                with self._state:
                    self.files[item.file] = data
            items.append(item)
        playlist = Playlist(name=name, title=title, description=description, entries=items)
        with self._state:
            self.playlists[name] = playlist
        return playlist

    def url_for_playlist(self, name: str) -> str:
        return f"{self.url}/feeds/{name}.xml"

    def url_for_video(self, file: str) -> str:
        return f"{self.url}/media/{_strip_mp4(file)}.mp4"

    @property
    def not_a_video_url(self) -> str:
        return f"{self.url}/not-a-video.html"

    @property
    def missing_url(self) -> str:
        return f"{self.url}/missing.mp4"

    def set_hang(self, on: bool = True) -> None:
        self.hang = on

    def content_of(self, file: str) -> bytes:
        """The exact bytes served for ``file`` (``<id>`` or ``<id>.mp4``)."""
        return self.files[f"{_strip_mp4(file)}.mp4"]

    def serves(self, file: str) -> list[MediaServe]:
        file = f"{_strip_mp4(file)}.mp4"
        with self._state:
            return [s for s in self.media_log if s.file == file]

    def bytes_served(self, file: str) -> int:
        """Bytes of ``file`` written to clients, over every request."""
        return sum(s.bytes_sent for s in self.serves(file))

    def ranges_seen(self, file: str) -> list[str]:
        """The Range headers of the requests for ``file``, in order."""
        return [s.range_header for s in self.serves(file) if s.range_header]

    # ----------------------------------------------------------------- server

    def _rss(self, playlist: Playlist) -> bytes:
        base = request.host_url.rstrip("/")
        esc = html.escape
        items = []
        for e in playlist.entries:
            items.append(
                "    <item>\n"
                f"      <title>{esc(e.title)}</title>\n"
                f'      <guid isPermaLink="false">{esc(e.id)}</guid>\n'
                f'      <enclosure url="{esc(base)}/media/{esc(e.file)}" type="video/mp4" length="{e.size}"/>\n'
                "    </item>\n"
            )
        doc = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<rss version="2.0">\n  <channel>\n'
            f"    <title>{esc(playlist.title)}</title>\n"
            f"    <link>{esc(base)}/feeds/{esc(playlist.name)}.xml</link>\n"
            f"    <description>{esc(playlist.description)}</description>\n" + "".join(items) + "  </channel>\n</rss>\n"
        )
        return doc.encode()

    def _stream(
        self, serve: MediaServe, data: bytes, start: int, end: int, sock: socket.socket | None
    ) -> Iterator[bytes]:
        pos = start
        try:
            while pos < end:
                bps = self.bytes_per_second
                chunk = 64 * 1024 if not bps else max(1024, min(64 * 1024, bps // 20))
                piece = data[pos : min(end, pos + chunk)]
                yield piece  # returns once werkzeug has written (and flushed) it
                pos += len(piece)
                with self._state:
                    serve.bytes_sent += len(piece)
                if self._release.is_set():
                    break
                if bps and pos < end and self._release.wait(len(piece) / bps):
                    break
            if pos >= end:
                serve.completed = True
            else:  # stop(): end the response short, the client sees EOF
                serve.aborted = True
                if sock is not None:
                    shutdown_socket(sock)
        except GeneratorExit:  # the write failed: client gone
            serve.aborted = True
            raise

    def _serve_media(self, file: str) -> Response:
        with self._state:
            data = self.files.get(file)
        range_header = request.headers.get("Range")
        serve = MediaServe(file=file, method=request.method, range_header=range_header, status=404)
        with self._state:
            self.media_log.append(serve)
        if self.hang:
            serve.status = 0
            return self.hang_request()
        if data is None:
            return Response(NOT_FOUND_BODY, status=NOT_FOUND, content_type="text/html;charset=utf-8")
        total = len(data)
        start, end, status = 0, total, 200
        headers = {
            "Accept-Ranges": "bytes",
            "Last-Modified": formatdate(self.created, usegmt=True),
        }
        if range_header:
            m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", range_header)
            if m and (m.group(1) or m.group(2)):
                if m.group(1):
                    start = int(m.group(1))
                    end = min(total, int(m.group(2)) + 1) if m.group(2) else total
                else:  # suffix range: the last N bytes
                    start, end = max(0, total - int(m.group(2))), total
                if start >= total or end <= start:
                    serve.status = 416
                    return Response(b"", status=416, headers={"Content-Range": f"bytes */{total}"})
                status = 206
                headers["Content-Range"] = f"bytes {start}-{end - 1}/{total}"
        serve.status, serve.start, serve.length = status, start, end - start
        if request.method == "HEAD":
            resp = Response(b"", status=status, headers=headers, content_type="video/mp4")
            resp.headers["Content-Length"] = str(end - start)
            serve.completed = True
            return resp
        sock = request.environ.get("werkzeug.socket")
        resp = Response(
            self._stream(serve, data, start, end, sock), status=status, headers=headers, content_type="video/mp4"
        )
        resp.headers["Content-Length"] = str(end - start)
        return resp

    def _routes(self) -> None:
        app = self.app

        @app.before_request
        def _track() -> None:
            self.track_socket()

        @app.get("/feeds/<name>.xml")
        def feed(name: str) -> Response:
            with self._state:
                playlist = self.playlists.get(name)
            if playlist is None:
                return Response(NOT_FOUND_BODY, status=NOT_FOUND, content_type="text/html;charset=utf-8")
            return Response(self._rss(playlist), content_type="application/rss+xml; charset=utf-8")

        @app.get("/media/<path:file>")
        def media(file: str) -> Response:
            return self._serve_media(file)

        @app.get("/missing.mp4")
        def missing() -> Response:
            return self._serve_media("missing.mp4")

        @app.get("/not-a-video.html")
        def not_a_video() -> Response:
            return Response(NOT_A_VIDEO_HTML, content_type="text/html; charset=utf-8")


def _strip_mp4(file: str) -> str:
    return file[:-4] if file.endswith(".mp4") else file
