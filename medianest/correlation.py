"""``X-Correlation-Id``: taken from the request when sane, else generated; on every answer."""

from __future__ import annotations

import random
import re

from flask import Flask, g, has_request_context, request
from flask.wrappers import Response

_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
HEADER = "X-Correlation-Id"


def new_correlation_id() -> str:
    """32 random hex digits: unique enough to find a request in the logs, and no system call.

    Not a secret (it is shown in error answers), so the process's random
    generator will do; ``uuid4`` read the kernel's on every request.  Python
    reseeds it in each forked worker.
    """
    return f"{random.getrandbits(128):032x}"


def current_correlation_id() -> str | None:
    if has_request_context():
        return getattr(g, "correlation_id", None)
    return None


def init_app(app: Flask) -> None:
    @app.before_request
    def _take_correlation_id() -> None:
        incoming = request.headers.get(HEADER, "")
        g.correlation_id = incoming if _SANE.match(incoming) else new_correlation_id()

    @app.after_request
    def _send_correlation_id(response: Response) -> Response:
        response.headers[HEADER] = getattr(g, "correlation_id", None) or new_correlation_id()
        return response
