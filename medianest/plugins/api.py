"""JSON routes and errors, for plugins: the envelope, validation, pagination and ``ApiError``.

Error codes a plugin adds are declared with the ``error_codes`` hook
(:class:`medianest.plugins.ErrorCode`); ``ApiError(code, message)`` then
answers with the declared status.
"""

from medianest.api import (
    ApiError,
    CursorQuery,
    PageQuery,
    RowId,
    Schema,
    api_route,
    error_response,
    ok,
    paginate,
    pagination_meta,
)
from medianest.api.route import field_errors

__all__ = [
    "ApiError",
    "CursorQuery",
    "PageQuery",
    "RowId",
    "Schema",
    "api_route",
    "error_response",
    "field_errors",
    "ok",
    "paginate",
    "pagination_meta",
]
