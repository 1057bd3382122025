"""Socket.IO clients for tests: one on the test app, one on a live server; both wait for events."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import requests
import socketio


class AppSocketClient:
    """A Socket.IO connection to a test app, sharing a test client's session cookie.

    The server joins it to the rooms of that client's user, as it does a
    browser; :meth:`wait_for` returns the payload of the first matching event
    received (also one published from another thread, such as a task).
    """

    def __init__(self, app: Any, flask_client: Any = None) -> None:
        from medianest.extensions import socketio as server

        self._client = server.test_client(app, flask_test_client=flask_client)
        self.events: list[tuple[str, Any]] = []

    @property
    def connected(self) -> bool:
        return self._client.is_connected()

    def _collect(self) -> None:
        if self._client.is_connected():
            for packet in self._client.get_received():
                args = packet.get("args") or [None]
                self.events.append((packet["name"], args[0]))

    def received(self, event: str) -> list[Any]:
        """The payloads of every ``event`` received so far."""
        self._collect()
        return [data for name, data in self.events if name == event]

    def wait_for(self, event: str, predicate: Callable[[Any], bool] = lambda data: True, timeout: float = 10) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            for data in self.received(event):
                if predicate(data):
                    return data
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{event} not received in {timeout} s; got {[n for n, _ in self.events]}")
            time.sleep(0.05)

    def close(self) -> None:
        if self._client.is_connected():
            self._client.disconnect()


class RecordingClient:
    """A Socket.IO client of a live server that signs in like a browser and records what it receives."""

    def __init__(self, url: str, http: requests.Session | None = None, headers: dict[str, str] | None = None) -> None:
        self.url = url
        self.events: list[tuple[str, Any]] = []
        self._cond = threading.Condition()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("*", self._record)
        cookie = "; ".join(f"{c.name}={c.value}" for c in (http.cookies if http else []))
        self.headers = dict(headers or {})
        if cookie:
            self.headers["Cookie"] = cookie

    def _record(self, event: str, data: Any = None) -> None:
        with self._cond:
            self.events.append((event, data))
            self._cond.notify_all()

    def connect(self, transports: list[str] | None = None) -> RecordingClient:
        self.sio.connect(self.url, headers=self.headers, transports=transports or ["websocket"], wait_timeout=10)
        return self

    def wait_for(self, event: str, predicate=lambda data: True, timeout: float = 15) -> Any:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for name, data in self.events:
                    if name == event and predicate(data):
                        return data
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{event} not received; got {[n for n, _ in self.events]}")
                self._cond.wait(remaining)

    def received(self, event: str) -> list[Any]:
        with self._cond:
            return [data for name, data in self.events if name == event]

    def close(self) -> None:
        if self.sio.connected:
            self.sio.disconnect()
