"""``X-Correlation-Id``: taken from the request when sane, else generated; on every answer."""

from __future__ import annotations

import re
import uuid

from flask import Flask, g, has_request_context, request
from flask.wrappers import Response

_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
HEADER = "X-Correlation-Id"


def current_correlation_id() -> str | None:
    if has_request_context():
        return getattr(g, "correlation_id", None)
    return None


def init_app(app: Flask) -> None:
    @app.before_request
    def _take_correlation_id() -> None:
        incoming = request.headers.get(HEADER, "")
        g.correlation_id = incoming if _SANE.match(incoming) else uuid.uuid4().hex

    @app.after_request
    def _send_correlation_id(response: Response) -> Response:
        response.headers[HEADER] = getattr(g, "correlation_id", None) or uuid.uuid4().hex
        return response
