"""Errors become the JSON envelope under ``/api/`` and a readable page elsewhere.

No stack trace reaches a user: unexpected exceptions are logged with the
correlation id, and the answer names only that id.
"""

from __future__ import annotations

import logging

from flask import Flask, g, render_template, request
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from medianest.access import limit_wait, wants_json
from medianest.extensions import db, limiter
from medianest.json_answers import ApiError, error_response
from medianest.service_settings import service_definitions

log = logging.getLogger("medianest.errors")

HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "AUTH_REQUIRED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
}


def _page(status: int, message: str, code: str):
    if request.htmx:
        return render_template("errors/fragment.html", message=message, code=code), status
    return render_template("errors/page.html", status=status, message=message, code=code), status


# A page that needs a service which is not set up, down, or refusing MediaNest's settings.
SERVICE_CODES = {
    "NOT_CONFIGURED",
    "SERVICE_UNAVAILABLE",
    "SERVICE_TIMEOUT",
    "SERVICE_UNAUTHORIZED",
    "SERVICE_BAD_ANSWER",
    "PLEX_SERVER_MISCONFIGURED",
}


def _service_page(exc: ApiError):
    """Not a bare error page: which service, what is wrong with it, and where its settings are (for admins)."""
    service = str(exc.details["service"])
    definition = service_definitions().get(service)
    name = definition.title if definition is not None else service
    page = render_template(
        "errors/service.html",
        status=exc.status,
        code=exc.code,
        message=exc.message,
        service=service,
        name=name,
        has_settings=definition is not None,
    )
    return page, exc.status


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        if wants_json():
            return error_response(exc.code, exc.message, exc.status, exc.details, exc.headers)
        if exc.code in SERVICE_CODES and exc.details.get("service") and not request.headers.get("HX-Request"):
            return _service_page(exc)
        return _page(exc.status, exc.message, exc.code)

    @app.errorhandler(RateLimitExceeded)
    def _rate_limited(exc: RateLimitExceeded):
        # The wait of the limit this request broke, in whole seconds rounded up (a client that
        # waits that long gets in); the message and Retry-After name the same number.
        reset_in = 60
        try:
            breached = limiter.current_limit
            if breached is not None:
                reset_in = limit_wait(breached)
        except Exception:  # the storage went away meanwhile: the default wait
            log.warning("could not read the window of a broken rate limit")
        headers = {"Retry-After": str(reset_in)}
        if exc.response is not None:  # the limit's on_breach answered (a form shown again with its input)
            exc.response.headers.setdefault("Retry-After", str(reset_in))
            return exc.response
        message = f"Too many requests: the limit is {exc.description}. Try again in {reset_in} s."
        if wants_json():
            details = {"limit": str(exc.description), "reset_in": reset_in}
            return error_response("RATE_LIMITED", message, 429, details, headers)
        body, status = _page(429, message, "RATE_LIMITED")
        return body, status, headers

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        message = "The form's security token is missing or wrong; reload the page and try again."
        if wants_json():
            return error_response("CSRF_FAILED", message, 403, {"reason": exc.description})
        return _page(403, message, "CSRF_FAILED")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        status = exc.code or 500
        code = HTTP_CODES.get(status, "BAD_REQUEST" if status < 500 else "INTERNAL_ERROR")
        message = {
            404: "Nothing here.",
            405: f"{request.method} is not allowed here.",
            413: "The request body is too large.",
        }.get(status, exc.description or exc.name)
        if wants_json():
            headers = {"Allow": exc.get_response().headers.get("Allow", "")} if status == 405 else None
            return error_response(code, message, status, headers=headers)
        return _page(status, message, code)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):

        db.session.rollback()
        correlation_id = getattr(g, "correlation_id", None)
        log.exception("unhandled error on %s %s", request.method, request.path)
        plugin = _plugin_of_request(app)
        if plugin:
            log.error("the error came from plugin %s", plugin)
        message = f"Something went wrong on our side. Quote {correlation_id} when reporting it."
        if wants_json():
            return error_response("INTERNAL_ERROR", message, 500)
        return _page(500, message, "INTERNAL_ERROR")


def _plugin_of_request(app: Flask) -> str | None:
    owners = app.extensions.get("medianest.blueprint_owners", {})
    return owners.get(request.blueprint or "")
