"""Security headers on every answer, CSRF on every state-changing browser request."""

from __future__ import annotations

from flask import Flask, current_app, request
from flask.wrappers import Response

from medianest.extensions import csrf

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: https://image.tmdb.org",  # posters of Overseerr's search results
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
        if request.headers.get("Authorization", "").startswith("Bearer "):
            return  # scripts authenticate with a token a browser never sends on its own
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
