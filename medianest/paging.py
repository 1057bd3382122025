"""Pages of a list: offset pages with a capped count, or keyset pages (``before=<id>``)."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import bindparam, func, select

from medianest.extensions import db


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
