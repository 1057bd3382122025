"""Who may call what: one family of decorators for the core and the plugins.

Every view carries exactly one access rule (``public``, ``login_required`` or
``admin_required``); the role-matrix test walks the URL map and fails on a
view without one.  Rows a user owns are checked with :func:`owned_or_404`.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g, redirect, request, url_for
from flask_login import current_user

from medianest.extensions import rate_limit_key
from medianest.json_answers import ApiError

F = TypeVar("F", bound=Callable[..., Any])

ACCESS_ATTR = "medianest_access"


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _deny_anonymous() -> Any:
    auth_error = g.get("medianest_auth_error")
    if auth_error:  # a credential was sent and refused: say which and why
        raise ApiError(*auth_error)
    if wants_json():
        raise ApiError("AUTH_REQUIRED", "Sign in, or send a personal API token as 'Authorization: Bearer ...'.")
    if request.htmx:
        response = redirect(url_for("auth.login_page"))
        response.headers["HX-Redirect"] = url_for("auth.login_page", next=request.full_path)
        return response
    return redirect(url_for("auth.login_page", next=request.full_path))


def _mark(view: F, rule: str) -> F:
    setattr(view, ACCESS_ATTR, rule)
    return view


def public(view: F) -> F:
    """Anyone, signed in or not."""
    return _mark(view, "public")


def login_required(view: F) -> F:
    """Any signed-in, active user (cookie session or API token)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return _deny_anonymous()
        return view(*args, **kwargs)

    return _mark(wrapper, "user")  # type: ignore[return-value]


def admin_required(view: F) -> F:
    """Signed-in users with the ``admin`` role."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return _deny_anonymous()
        if not current_user.is_admin:
            raise ApiError("FORBIDDEN", "Only an admin may do this.")
        return view(*args, **kwargs)

    return _mark(wrapper, "admin")  # type: ignore[return-value]


def csrf_exempt(view: F) -> F:
    """For routes a browser never sends (webhooks, JSON login); they authenticate otherwise."""
    view.medianest_csrf_exempt = True  # type: ignore[attr-defined]
    return view


def owned_or_404(row: Any, what: str = "That item", owner_attr: str = "user_id") -> Any:
    """The row if it exists and the signed-in user owns it (admins own everything).

    Another user's row answers exactly like a missing one, so ids can't be probed.
    """
    if row is None or (not current_user.is_admin and getattr(row, owner_attr) != current_user.id):
        raise ApiError("NOT_FOUND", f"{what} does not exist.")
    return row


rate_limit_identity = rate_limit_key


def view_access(view: Callable[..., Any]) -> str | None:
    return getattr(view, ACCESS_ATTR, None)


def signed_in_by_default(app: Any, blueprint: str) -> None:
    """A view of ``blueprint`` that declares no access rule is served to signed-in users only.

    Forgetting the rule must not publish a plugin's page to anyone who finds it.
    """
    for endpoint, view in list(app.view_functions.items()):
        if endpoint.startswith(f"{blueprint}.") and not endpoint.endswith(".static") and view_access(view) is None:
            app.view_functions[endpoint] = login_required(view)


def admin_exempt_from_limits() -> bool:
    """Flask-Limiter ``exempt_when`` of the per-route limits on work (downloads, media requests).

    Admins are not counted, unless ``MEDIANEST_RATE_LIMIT_EXEMPT_ADMINS`` is
    false.  Sign-in limits never take this: they guard accounts, not work.
    """
    if not current_app.config["MEDIANEST"].rate_limit_exempt_admins:
        return False
    try:
        return bool(current_user.is_authenticated and current_user.is_admin)
    except Exception:  # no request user loaded (e.g. the database is down): counted
        return False


def seconds_until(reset_at: float) -> int:
    """The wait a 429 names, in whole seconds rounded up: a client that waits that long gets in."""
    return max(1, math.ceil(reset_at - time.time()))


def limit_wait(limit: Any) -> int:
    """The wait a 429 names for a broken Flask-Limiter ``RequestLimit``, as ``Retry-After`` says it.

    Whole seconds, rounded up: Redis keeps a window's expiry in whole seconds, so its reset time
    can be up to a second early, and a client that waits what this says gets in; never more than
    the window itself.
    """
    return min(int(limit.limit.get_expiry()), seconds_until(limit.window.reset_time) + 1)


def rate_limit_exempt(view: F) -> F:
    """Not counted against the shared JSON API budget (webhook receivers authenticate otherwise)."""
    view.medianest_rate_limit_exempt = True  # type: ignore[attr-defined]
    return view


def enforce_declared_access(view: Callable[..., Any]) -> Any:
    """Apply ``view``'s declared rule now (``api_route`` calls it before reading the body).

    Returns ``None`` when the caller may go on, or the answer to send instead.
    Authenticating before validating means a stranger learns nothing about a
    route's body from its validation errors.
    """
    rule = view_access(view)
    if rule not in ("user", "admin"):
        return None
    if not current_user.is_authenticated:
        return _deny_anonymous()
    if rule == "admin" and not current_user.is_admin:
        raise ApiError("FORBIDDEN", "Only an admin may do this.")
    return None
