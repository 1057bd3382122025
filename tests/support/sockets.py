"""A Socket.IO client that signs in like a browser and records what it receives."""

from __future__ import annotations

import threading
import time
from typing import Any

import requests
import socketio


class RecordingClient:
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
