"""What a request brings is checked before any view reads it: body size, NUL characters, JSON depth.

Body size: werkzeug enforces ``MAX_CONTENT_LENGTH`` on a declared
``Content-Length``, but a chunked body (no length) is only read up to the
limit: ``get_data`` then returns the first MiB as if it were the whole body,
and the multipart parser fails on the cut with a 400.  A chunked body is
therefore read here, up to one byte past the limit: over it, 413; within it,
the body is handed on with its length, so every later reader sees all of it.

NUL characters: PostgreSQL refuses them in text, so a NUL in a path, a query
string, a form field or a JSON string would reach the database and come back
as a 500.  JSON nested deeper than Python's recursion limit made the parser
raise ``RecursionError`` (another 500).  Both are refused here, for every
route, as ``INVALID_INPUT``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from typing import Any

from flask import Flask, request
from werkzeug.wsgi import get_content_length

from medianest.json_answers import ApiError

BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}
# Deeper JSON than this is refused; no MediaNest body comes near it.
MAX_JSON_DEPTH = 64
# A refused body is still read up to this many times the limit, so the client
# finishes sending and sees the 413 rather than a reset connection.
DRAIN_FACTOR = 4
_READ = 64 * 1024


def init_app(app: Flask) -> None:
    """Register the checks; call before any step that reads the body (the CSRF check reads the form)."""
    config = app.config

    @app.before_request
    def _check_request() -> None:
        # Every request passes here: the WSGI environment is read directly, and
        # the request object only for a body.
        environ = request.environ
        limit = config["MAX_CONTENT_LENGTH"]
        if limit is not None:
            _limit_body(environ, limit)
        _refuse_nul_in_address(environ)
        if environ["REQUEST_METHOD"] in BODY_METHODS:
            if request.mimetype in FORM_TYPES:
                _refuse_nul_in_form()
            elif request.is_json:
                check_json_text(request.get_data(cache=True))


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


def _invalid(where: str) -> ApiError:
    return ApiError("INVALID_INPUT", f"The {where} contains a NUL character, which MediaNest does not accept.")


def _has_nul(values: Iterable[str]) -> bool:
    return any("\x00" in value for value in values)


def _refuse_nul_in_address(environ: dict[str, Any]) -> None:
    if "\x00" in environ.get("PATH_INFO", ""):  # already percent-decoded by the server
        raise _invalid("address")
    query = environ.get("QUERY_STRING", "")
    if "%00" in query or "\x00" in query:  # the only ways a NUL can be written there
        for key, values in request.args.lists():
            if "\x00" in key or _has_nul(values):
                raise _invalid(f"query parameter {key!r}".replace("\x00", "\\x00"))


def _refuse_nul_in_form() -> None:
    for key, values in request.form.lists():
        if "\x00" in key or _has_nul(values):
            raise _invalid(f"form field {key!r}".replace("\x00", "\\x00"))
    for key, upload in request.files.items(multi=True):
        if "\x00" in key or "\x00" in (upload.filename or ""):
            raise _invalid("name of an uploaded file")


def check_json_text(raw: bytes) -> None:
    """Refuse a JSON body with a NUL in a string or nested past :data:`MAX_JSON_DEPTH`.

    Most bodies are decided without parsing: a NUL can only be written as
    ``\\u0000`` (JSON forbids the raw byte in strings), and a body with few
    brackets cannot be deep.  Invalid JSON is left to the route, which says
    ``INVALID_JSON``.
    """
    suspect_nul = b"\\u0000" in raw
    suspect_depth = raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH
    if not (suspect_nul or suspect_depth):
        return
    try:
        payload = json.loads(raw)
    except RecursionError:
        raise _too_deep() from None
    except ValueError:
        return
    check_json_value(payload)


def _too_deep() -> ApiError:
    return ApiError("INVALID_INPUT", f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels.")


def check_json_value(payload: Any) -> None:
    """Walk a parsed JSON value (no recursion: the depth is what is being checked)."""
    pending: list[tuple[Any, int]] = [(payload, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise _invalid("JSON body")
        elif isinstance(value, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise _too_deep()
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and "\x00" in key:
                    raise _invalid("JSON body")
                pending.append((item, depth + 1))
