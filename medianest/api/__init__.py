"""JSON API conventions: envelope, errors, validation, pagination, OpenAPI."""

from medianest.api.route import api_route
from medianest.api.schema import CursorQuery, PageQuery, RowId, Schema
from medianest.json_answers import ApiError, error_response, ok
from medianest.paging import paginate, pagination_meta

__all__ = [
    "ApiError",
    "CursorQuery",
    "PageQuery",
    "RowId",
    "Schema",
    "api_route",
    "error_response",
    "ok",
    "paginate",
    "pagination_meta",
]
