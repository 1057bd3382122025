"""A local HTTP stand-in for an external service: canned JSON answers on a free port.

    with JsonStandIn() as service:
        service.answer("GET", "/api/v2/status", {"version": "2.1"})
        service.answer("GET", "/api/v2/users", {"error": "no"}, status=401)
        ... point the plugin's settings at service.url ...
        assert service.requests[0].headers["X-Api-Key"] == "secret"

An answer can also be a function of the request (``lambda request: {...}``).
A path nobody gave an answer for gets 404 with a JSON error, so a wrong path
shows in the test's failure instead of hanging.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


@dataclass
class SeenRequest:
    """One request the stand-in received."""

    method: str
    path: str
    args: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""
    json: Any = field(default=None)


class JsonStandIn:
    """A threaded HTTP server on 127.0.0.1 answering from a table of canned JSON answers."""

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str], tuple[Any, int, dict[str, str]]] = {}
        self.requests: list[SeenRequest] = []
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.port: int = self._server.server_port
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(
        self,
        method: str,
        path: str,
        body: Any | Callable[[SeenRequest], Any],
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> JsonStandIn:
        """Answer ``method path`` (query string ignored) with ``body`` as JSON and ``status``."""
        self.answers[(method.upper(), path)] = (body, status, dict(headers or {}))
        return self

    def _wsgi(self, environ: dict, start_response: Callable) -> Any:
        request = Request(environ)
        body = request.get_data()
        seen = SeenRequest(
            method=request.method,
            path=request.path,
            args=dict(request.args),
            headers=dict(request.headers),
            body=body,
            json=request.get_json(silent=True),
        )
        self.requests.append(seen)
        found = self.answers.get((request.method, request.path))
        if found is None:
            answer, status, headers = {"error": f"no answer for {request.method} {request.path}"}, 404, {}
        else:
            answer, status, headers = found
            if callable(answer):
                answer = answer(seen)
        response = Response(json.dumps(answer), status=status, headers=headers, mimetype="application/json")
        return response(environ, start_response)

    def start(self) -> JsonStandIn:
        self._thread = threading.Thread(target=self._server.serve_forever, name="json-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> JsonStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
