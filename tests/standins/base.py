"""A small threaded HTTP server around a Flask app, for stand-ins.

``Standin.start()`` serves the app on 127.0.0.1 (a free port the first time,
the same port on a restart), ``stop()`` closes the listening socket so that
clients see "connection refused", and every request received is recorded in
``requests`` so a test can check what the client sent.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from werkzeug.serving import make_server

#: What the real services send and accept, in the repository: answers captured from
#: real servers and MediaNest's own schemas of the part of each API it uses.
CONTRACTS = Path(__file__).resolve().parents[1] / "contracts"

#: The vendors' own API documents (third-party files, not in the repository): a
#: ``shared/contracts`` folder beside the checkout, or the folder MEDIANEST_CONTRACTS names.
#: Only the vendor-contract layer of the tests reads them (tests/standins/test_vendor_contracts.py).
VENDOR_CONTRACTS = Path(
    os.environ.get("MEDIANEST_CONTRACTS") or Path(__file__).resolve().parents[3] / "shared" / "contracts"
)
VENDOR_FILES = (
    "overseerr/overseerr-api.yml",
    "plex/plex-api-spec.yaml",
    "plex/plex-pms-deref-2025.yaml",
)


def missing_vendor_files() -> list[Path]:
    """The vendor documents the vendor-contract layer needs that are not there."""
    return [VENDOR_CONTRACTS / name for name in VENDOR_FILES if not (VENDOR_CONTRACTS / name).is_file()]


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    query_string: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class Standin:
    """Base class: subclasses build ``self.app`` (a Flask app) in ``__init__``.

    Connections a subclass registers with :meth:`track_socket` (slow streams)
    and requests it parks in :meth:`hang_request` (answers that never come)
    are cut by :meth:`stop`, so a stopped stand-in really refuses and releases
    everything at once.
    """

    name = "standin"
    hang_seconds: float = 300.0

    def __init__(self) -> None:
        self._release = threading.Event()
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self.app = Flask(f"standin-{self.name}")
        self.requests: list[RecordedRequest] = []
        self.port: int | None = None
        self._server = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

        @self.app.before_request
        def _record() -> None:
            with self._lock:
                self.requests.append(
                    RecordedRequest(
                        method=request.method,
                        path=request.path,
                        query={k: request.args.getlist(k) for k in request.args},
                        headers={k: v for k, v in request.headers.items()},
                        body=request.get_data(cache=True),
                        query_string=request.query_string.decode("latin-1"),
                    )
                )

    @property
    def url(self) -> str:
        assert self.port is not None, "stand-in not started"
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        if self._server is not None:
            return self.url
        self._server = make_server("127.0.0.1", self.port or 0, self.app, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"standin-{self.name}", daemon=True)
        self._thread.start()
        return self.url

    def track_socket(self) -> socket.socket | None:
        """Remember the current request's connection so ``stop()`` can cut it."""
        sock = request.environ.get("werkzeug.socket")
        if sock is not None:
            self._sockets.add(sock)
        return sock

    def hang_request(self) -> Response:
        """Never answer: wait until the client leaves, ``stop()``, or ``hang_seconds``."""
        sock = request.environ.get("werkzeug.socket")
        deadline = time.monotonic() + self.hang_seconds
        while time.monotonic() < deadline:
            if self._release.wait(0.1):
                break
            if sock is not None and peer_closed(sock):
                break
        if sock is not None:
            shutdown_socket(sock)  # the response below never reaches anybody
        return Response(b"", status=204)

    def stop(self) -> None:
        self._release.set()
        for sock in list(self._sockets):
            shutdown_socket(sock)
        try:
            self._stop_server()
        finally:
            self._sockets = weakref.WeakSet()
            self._release.clear()

    def _stop_server(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def __enter__(self) -> Standin:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Blackhole:
    """A TCP server that accepts connections and never answers."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(128)
        self.port = self._sock.getsockname()[1]
        self._conns: list[socket.socket] = []
        self._running = True
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while self._running:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self._conns.append(conn)

    def close(self) -> None:
        self._running = False
        try:
            self._sock.close()
        finally:
            for conn in self._conns:
                conn.close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connection refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def peer_closed(sock: socket.socket) -> bool:
    """Has the client closed its end (without blocking)?"""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        return sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


def shutdown_socket(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
