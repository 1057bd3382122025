"""URL converters every route uses (core and plugins alike)."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter, Map

# The widest id a row can have on every supported database (PostgreSQL's integer).
ID_MAX = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:...>``: a whole number from 0 to :data:`ID_MAX`.

    A number past the database's integer can't name a row, so the URL does not
    match and the answer is the usual 404, instead of the database refusing the
    parameter (SQLite: ``OverflowError``, PostgreSQL: "integer out of range").
    """

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,  # noqa: A002  (werkzeug's argument names)
        max: int | None = ID_MAX,  # noqa: A002
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
