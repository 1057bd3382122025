"""What a request brings is checked before any view reads it: its body size.

Body size: werkzeug enforces ``MAX_CONTENT_LENGTH`` on a declared
``Content-Length``, but a chunked body (no length) is only read up to the
limit: ``get_data`` then returns the first MiB as if it were the whole body,
and the multipart parser fails on the cut with a 400.  A chunked body is
therefore read here, up to one byte past the limit: over it, 413; within it,
the body is handed on with its length, so every later reader sees all of it.
"""

from __future__ import annotations

import io
from typing import Any

from flask import Flask, request
from werkzeug.wsgi import get_content_length

from medianest.api.envelope import ApiError

# A refused body is still read up to this many times the limit, so the client
# finishes sending and sees the 413 rather than a reset connection.
DRAIN_FACTOR = 4
_READ = 64 * 1024


def init_app(app: Flask) -> None:
    """Register the checks; call before any step that reads the body (the CSRF check reads the form)."""
    app.before_request(check_request)


def check_request() -> None:
    limit = request.max_content_length
    if limit is not None:
        _limit_body(request.environ, limit)


def _too_large(limit: int) -> ApiError:
    return ApiError(
        "PAYLOAD_TOO_LARGE",
        f"The request body is larger than the {limit} bytes accepted.",
        413,
        details={"limit_bytes": limit},
    )


def _limit_body(environ: dict[str, Any], limit: int) -> None:
    declared = get_content_length(environ)
    stream = environ["wsgi.input"]
    if declared is not None:
        if declared > limit:
            _drain(stream, min(declared, DRAIN_FACTOR * limit))
            raise _too_large(limit)
        return
    if "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return  # no body
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = stream.read(min(_READ, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        _drain(stream, DRAIN_FACTOR * limit)
        raise _too_large(limit)
    body = b"".join(chunks)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    del environ["HTTP_TRANSFER_ENCODING"]


def _drain(stream: Any, most: int) -> None:
    read = 0
    try:
        while read < most:
            chunk = stream.read(min(_READ, most - read))
            if not chunk:
                return
            read += len(chunk)
    except OSError:
        return  # the client went away: nothing left to be polite to
