"""The JSON envelope every ``/api/`` answer uses, and the errors that map onto it.

Success: ``{"success": true, "data": ..., "meta": {...}}``.
Failure: ``{"success": false, "error": {"code", "message", "details"}}`` with the
matching HTTP status.  Codes are stable: scripts branch on them.
"""

from __future__ import annotations

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
