"""The JSON answer envelope, from :mod:`medianest.json_answers` (which the access rules use too)."""

from medianest.json_answers import ERROR_CODES, ApiError, error_body, error_response, ok, paginate, pagination_meta

__all__ = ["ERROR_CODES", "ApiError", "error_body", "error_response", "ok", "paginate", "pagination_meta"]
