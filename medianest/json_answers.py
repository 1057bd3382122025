"""The JSON envelope every ``/api/`` answer uses, and the errors that map onto it.

Success: ``{"success": true, "data": ..., "meta": {...}}``.
Failure: ``{"success": false, "error": {"code", "message", "details"}}`` with the
matching HTTP status.  Codes are stable: scripts branch on them.
"""

from __future__ import annotations

import math
from typing import Any

from flask import g, jsonify
from flask.wrappers import Response

# code -> default HTTP status: the core's, then those plugins declare
# (``error_codes`` hook, added by ``medianest.declarations`` at start).
ERROR_CODES: dict[str, int] = {
    "BAD_REQUEST": 400,
    "INVALID_JSON": 400,
    "INVALID_INPUT": 400,  # a NUL character anywhere, JSON nested too deep
    "VALIDATION_ERROR": 400,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "PAYLOAD_TOO_LARGE": 413,
    "AUTH_REQUIRED": 401,
    "INVALID_CREDENTIALS": 401,
    "INVALID_TOKEN": 401,
    "CSRF_FAILED": 403,
    "FORBIDDEN": 403,
    "ACCOUNT_SUSPENDED": 403,
    "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "CONFLICT": 409,
    "GONE": 410,
    "RATE_LIMITED": 429,
    "INTERNAL_ERROR": 500,
    "SERVICE_UNAVAILABLE": 503,
    "SERVICE_TIMEOUT": 504,
    "SERVICE_UNAUTHORIZED": 502,
    "SERVICE_BAD_ANSWER": 502,
    "NOT_CONFIGURED": 503,
    # identity and access
    "PIN_NOT_STARTED": 400,
    "PIN_EXPIRED": 410,
    "PLEX_NO_ACCESS": 403,
    "PASSWORD_FROM_ENVIRONMENT": 409,
    "WEAK_PASSWORD": 400,
    "USERNAME_TAKEN": 409,
    "INVITE_USED": 410,
    "INVITE_EXPIRED": 410,
    "INVITE_REVOKED": 410,
    "PLEX_SERVER_MISCONFIGURED": 503,
    "LAST_ADMIN": 409,
    "SET_BY_ENVIRONMENT": 409,
    "SECRET_REQUIRED": 400,
    # notification channels (Apprise)
    "CHANNEL_URL_INVALID": 400,
    "CHANNEL_NOT_SUPPORTED": 400,
}


class ApiError(Exception):
    """Raise anywhere in a request to answer with the error envelope."""

    def __init__(
        self,
        code: str,
        message: str,
        status: int | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or ERROR_CODES.get(code, 400)
        self.details = details or {}
        self.headers = headers or {}


def ok(data: Any = None, meta: dict[str, Any] | None = None, status: int = 200) -> Response:
    response = jsonify({"success": True, "data": data, "meta": meta or {}})
    response.status_code = status
    return response


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    details = dict(details or {})
    correlation_id = getattr(g, "correlation_id", None)
    if correlation_id and "correlation_id" not in details:
        details["correlation_id"] = correlation_id
    return {"success": False, "error": {"code": code, "message": message, "details": details}}


def error_response(
    code: str,
    message: str,
    status: int | None = None,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    response = jsonify(error_body(code, message, details))
    response.status_code = status or ERROR_CODES.get(code, 400)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def pagination_meta(page: int, per_page: int, total: int) -> dict[str, Any]:
    return {
        "pagination": {
            "page": page,
            "per_page": per_page,
            "total": total,
            "pages": max(1, math.ceil(total / per_page)) if per_page else 1,
        }
    }


# Counting every matching row costs a scan of them all (35 ms for 100 000 rows
# here); past this many the total is reported as "at least" (``total_exact``).
COUNT_CAP = 10_000


def paginate(
    select_stmt: Any,
    page: int,
    per_page: int,
    before: int | None = None,
    key: Any = None,
    params: dict[str, Any] | None = None,
) -> tuple[list[Any], dict[str, Any]]:
    """Run a SQLAlchemy ``select`` for one page; returns the rows and ``meta``.

    ``select(Model)`` gives model instances; a Core ``select(table)`` gives
    rows (read-only, attribute access, no ORM bookkeeping: the cheaper choice
    for a list that only serialises what it reads).

    ``params``: the statement is one a list builds once and reuses, with
    ``bindparam`` placeholders for what changes between calls (the user, a
    filter).  Its page statements are then built once too, and a Core
    statement runs on the session's connection: a statement rebuilt per call
    cost SQLAlchemy a fresh cache key and a re-mapping of its result columns,
    and the ORM's execute a layer of its own, together more than the query's
    round trip (``docs/benchmarks.md``).

    Offset paging (``page``): the total is exact up to :data:`COUNT_CAP` rows
    (or when this page reaches the end); beyond that
    ``meta.pagination.total_exact`` is false.

    Keyset paging (``before``, for lists ordered by ``key`` descending): the
    rows with ``key < before``, no total and no OFFSET, so page 1000 costs what
    page 1 does.  Both modes give ``next_before`` when more rows may follow.
    """
    from sqlalchemy import func, select

    from medianest.extensions import db

    if before is not None and key is None:
        raise ValueError("keyset paging needs the key column")
    pages = _page_statements(select_stmt, key) if params is not None else None
    if before is not None:
        if pages is not None:
            rows = pages.fetch(pages.after, {**params, "_page_before": before, "_page_limit": per_page + 1})
        else:
            rows = _fetch(select_stmt.where(key < before).limit(per_page + 1))
        more = len(rows) > per_page
        rows = rows[:per_page]
        meta = {
            "pagination": {
                "per_page": per_page,
                "before": before,
                "has_more": more,
                "next_before": _key_of(rows[-1], key) if more else None,
            }
        }
        return rows, meta
    offset = (page - 1) * per_page
    # One row more than the page says whether this is the end.
    if pages is not None:
        rows = pages.fetch(pages.offset, {**params, "_page_limit": per_page + 1, "_page_offset": offset})
    else:
        rows = _fetch(select_stmt.limit(per_page + 1).offset(offset))
    more = len(rows) > per_page
    rows = rows[:per_page]
    if not more and (rows or page == 1):
        total, exact = offset + len(rows), True  # this page reached the end: no count needed
    else:
        window = select_stmt.order_by(None).limit(COUNT_CAP + 1).subquery()
        total = db.session.scalar(select(func.count()).select_from(window), params) or 0
        exact = total <= COUNT_CAP
        total = min(total, COUNT_CAP) if not exact else total
    meta = pagination_meta(page, per_page, total)
    meta["pagination"]["total_exact"] = exact
    if key is not None:
        meta["pagination"]["next_before"] = _key_of(rows[-1], key) if more else None
    return rows, meta


def _fetch(stmt: Any, params: dict[str, Any] | None = None, entities: bool | None = None) -> list[Any]:
    """The rows of ``stmt``: model instances, or Core rows read on the session's connection."""
    from medianest.extensions import db

    if entities is None:
        entities = _gives_entities(stmt)
    if entities:
        return list(db.session.execute(stmt, params).scalars().unique())
    if params is None:
        return db.session.execute(stmt).all()
    return db.session.connection().execute(stmt, params).all()


def _gives_entities(stmt: Any) -> bool:
    described = stmt.column_descriptions
    return len(described) == 1 and described[0].get("entity") is not None


class _PageStatements:
    """The page statements of one reusable list statement, built once."""

    def __init__(self, stmt: Any, key: Any) -> None:
        from sqlalchemy import bindparam

        self.base = stmt  # kept alive: its id is this entry's key
        self.entities = _gives_entities(stmt)
        limit = bindparam("_page_limit")
        self.offset = stmt.limit(limit).offset(bindparam("_page_offset"))
        self.after = stmt.where(key < bindparam("_page_before")).limit(limit) if key is not None else None

    def fetch(self, stmt: Any, params: dict[str, Any]) -> list[Any]:
        return _fetch(stmt, params, self.entities)


# Reusable list statements are built once per shape (a handful per list); the
# bound only matters for a caller that passes ``params`` with a new statement
# each time, which gains nothing here but must not grow this without end.
_PAGES: dict[tuple[int, int], _PageStatements] = {}
_MAX_PAGES = 256


def _page_statements(stmt: Any, key: Any) -> _PageStatements:
    found = _PAGES.get((id(stmt), id(key)))
    if found is None:  # an entry keeps its statement alive, so its id is never reused
        if len(_PAGES) >= _MAX_PAGES:
            _PAGES.clear()
        found = _PAGES[(id(stmt), id(key))] = _PageStatements(stmt, key)
    return found


def _key_of(row: Any, key: Any) -> Any:
    return getattr(row, key.key)
