"""Security headers on every answer, CSRF on every state-changing browser request."""

from __future__ import annotations

from flask import Flask, current_app, g, request
from flask.wrappers import Response
from flask_login import current_user

from medianest.auth.sessions import remember_cookie_name
from medianest.extensions import csrf
from medianest.json_answers import ApiError

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",  # posters, Plex's and TMDB's alike, come through MediaNest
        "connect-src 'self' ws: wss:",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
HTTPS_HEADERS = (*HEADERS, ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))


def init_app(app: Flask) -> None:
    @app.before_request
    def _csrf_for_browsers() -> None:
        if request.method not in UNSAFE_METHODS:
            return
        view = current_app.view_functions.get(request.endpoint or "")
        if view is not None and getattr(view, "medianest_csrf_exempt", False):
            return
        if _script_request():
            return
        csrf.protect()

    @app.after_request
    def _headers(response: Response) -> Response:
        # A view may have set its own; one pass over the answer's headers, not one per header.
        headers = response.headers
        present = {name.lower() for name in headers.keys()}
        for name, value in HTTPS_HEADERS if request.is_secure else HEADERS:
            if name.lower() not in present:
                headers.add(name, value)
        return response


def _script_request() -> bool:
    """A request authenticated by an API token alone: no CSRF token needed.

    Only when it carries no session or remember cookie: with either, the
    cookie is what signs the request in (the session's user wins over a
    token), so any ``Authorization: Bearer`` header, even a made-up one,
    would otherwise switch the check off for a browser's own credentials.
    A cookieless request whose token was refused gets that refusal
    (``INVALID_TOKEN``), not a CSRF error it could do nothing about.
    """
    if not request.headers.get("Authorization", "").startswith("Bearer "):
        return False
    cookies = request.cookies
    if cookies.get(current_app.config["SESSION_COOKIE_NAME"]) or cookies.get(remember_cookie_name()):
        return False
    if current_user.is_authenticated and g.get("auth_via_token"):
        return True
    auth_error = g.get("medianest_auth_error")
    if auth_error:
        raise ApiError(*auth_error)
    return False
