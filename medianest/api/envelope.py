"""The JSON answer envelope (:mod:`medianest.json_answers`) and the pages of a list (:mod:`medianest.paging`)."""

from medianest.json_answers import ERROR_CODES, ApiError, error_body, error_response, ok
from medianest.paging import (
    _PAGES,  # noqa: F401 - the page statements built so far, read by tests
    paginate,
    pagination_meta,
)

__all__ = ["ERROR_CODES", "ApiError", "error_body", "error_response", "ok", "paginate", "pagination_meta"]
