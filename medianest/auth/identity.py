"""How a request becomes a user: the session cookie or a personal API token."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import secrets
from datetime import timedelta

from flask import Flask, current_app, g, request, session
from limits import parse
from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import joinedload

from medianest.access import seconds_until
from medianest.auth.passwords import hash_password, verify_password
from medianest.auth.sessions import session_is_live, user_from_remember_cookie
from medianest.extensions import db, limiter, login_manager
from medianest.models import ApiToken, InstallationValue, User, UserSession, utcnow

log = logging.getLogger("medianest.auth")

TOKEN_PREFIX = "mn_"  # noqa: S105 - the visible prefix of every token, not a secret


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_api_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def load_user(alternative_id: str) -> User | None:
    """The session cookie's user: its token must be current and its browser session not ended."""

    user_id, _, session_token = alternative_id.partition(":")
    if not user_id.isdigit() or not session_token:
        return None
    user, browser_session = _user_and_session(int(user_id))
    if user is None or not secrets.compare_digest(user.session_token, session_token) or user.status != "active":
        return None
    if not session_is_live(user, browser_session):
        return None
    return user


def _user_and_session(user_id: int):
    """The user and this browser's session row in one round trip (every page view asks)."""

    sid = session.get("sid")
    if not sid:
        return db.session.get(User, user_id), None
    row = db.session.execute(
        db.select(User, UserSession)
        .outerjoin(UserSession, (UserSession.user_id == User.id) & (UserSession.id == sid))
        .where(User.id == user_id)
    ).first()
    return (row[0], row[1]) if row else (None, None)


def load_user_from_request(req) -> User | None:
    """No session user: a personal API token (``Authorization: Bearer``), else the remember-me cookie."""

    token = bearer_token(req)
    if token is not None:
        return _user_from_token(token)
    return user_from_remember_cookie()


def init_app(app: Flask) -> None:
    """A request's user comes from its session cookie, else from its API token or remember-me cookie."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login_page"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_user)
    login_manager.request_loader(load_user_from_request)


def bearer_token(req) -> str | None:
    """The token of an ``Authorization: Bearer ...`` header (maybe empty), or ``None`` without one."""
    header = req.headers.get("Authorization", "")
    return header[len("Bearer ") :].strip() if header.startswith("Bearer ") else None


def _user_from_token(token: str) -> User | None:
    if g.get("bearer_attempted"):
        return None  # already judged (and counted) in this request
    g.bearer_attempted = True
    if not token:
        g.medianest_auth_error = ("INVALID_TOKEN", "This API token is not valid.")
        count_guess()
        return None
    try:
        return _token_owner(hash_token(token))
    except SQLAlchemyError:
        # A token that can't be checked is not a wrong token: the caller
        # should retry, not throw the token away (503, never 401).
        with contextlib.suppress(SQLAlchemyError):
            db.session.rollback()
        g.pop("auth_via_token", None)
        log.warning("could not check an API token: the database is unavailable", exc_info=True)
        g.medianest_auth_error = (
            "SERVICE_UNAVAILABLE",
            "The database is not answering, so the API token can't be checked. Try again shortly.",
            503,
            {"service": "database"},
            {"Retry-After": str(DATABASE_RETRY_AFTER)},
        )
        return None


# Seconds a client is asked to wait when the database did not answer.
DATABASE_RETRY_AFTER = 5


def _token_owner(token_hash: str) -> User | None:
    # The token and its user in one round trip: this runs on every scripted request.
    query = db.select(ApiToken).options(joinedload(ApiToken.user)).where(ApiToken.token_hash == token_hash)
    row = db.session.scalar(query)
    if row is None or row.revoked_at is not None:
        # A wrong token is a guess: it counts against the sign-in limit of the address it came from.
        reason = "This API token has been revoked." if row is not None else "This API token is not valid."
        g.medianest_auth_error = ("INVALID_TOKEN", reason)
        count_guess()
        return None
    if row.user.status != "active":
        g.medianest_auth_error = ("ACCOUNT_SUSPENDED", "This account is suspended.")
        return None
    g.auth_via_token = True
    _record_use(row)
    return row.user


# Record a token's last use at most once a minute, so reads stay reads.
LAST_USED_EVERY = timedelta(seconds=60)


def _record_use(token: ApiToken) -> None:
    """Write ``last_used_at`` when it is older than a minute.

    Through the request's own session: a second connection while the session
    holds one deadlocks a busy worker once every pooled connection is held by a
    request waiting for another.
    """
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        db.session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
        db.session.commit()


def count_guess() -> None:
    """Count a failed credential against the address's sign-in budget.

    Wrong passwords are counted by the sign-in routes' own limit; this covers
    credentials that can arrive on any route (API tokens).  Once the budget is
    spent the refusal becomes ``RATE_LIMITED`` (raised by the access rule, since
    this runs inside Flask-Login's loader, where an exception would be lost).
    """

    rate = current_app.config["MEDIANEST"].rate_limit_login
    item = parse(rate)
    # The same storage key the routes' shared "sign-in" limit uses: one budget for every kind of guess.
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX")
    keys = tuple(k for k in (prefix, f"ip:{request.remote_addr or 'unknown'}", "sign-in") if k)
    try:
        allowed = limiter.limiter.hit(item, *keys)
        reset_in = seconds_until(limiter.limiter.get_window_stats(item, *keys).reset_time)  # as Retry-After
    except Exception:  # storage trouble must not turn a wrong token into a 500
        log.warning("could not count a failed credential (rate-limit storage unavailable)")
        return
    if not allowed:
        g.medianest_auth_error = (
            "RATE_LIMITED",
            f"Too many failed sign-in attempts from your address: the limit is {item}. Try again in {reset_in} s.",
            429,
            {"limit": str(item), "reset_in": reset_in},
            {"Retry-After": str(reset_in)},
        )


def ensure_local_admin(app: Flask, base_url: str | None = None) -> User | None:
    """The local ``admin`` exists from the first start; there is no default password.

    With ``MEDIANEST_ADMIN_PASSWORD`` set, that is its password.  Without it, a
    one-time setup link is written to the log until a password is chosen, at
    ``MEDIANEST_BASE_URL`` or else ``base_url`` (where ``medianest run`` listens).
    """

    settings = app.config["MEDIANEST"]
    admin = db.session.scalar(db.select(User).where(User.username == "admin", User.is_local.is_(True)))
    if admin is None:
        admin = User(username="admin", display_name="Administrator", role="admin", is_local=True)
        db.session.add(admin)
    if settings.admin_password and not verify_password(admin.password_hash, settings.admin_password):
        admin.password_hash = hash_password(settings.admin_password)
    db.session.commit()
    if admin.password_hash is None:
        token = InstallationValue.get_or_create("admin_setup_token", lambda: secrets.token_urlsafe(32))
        base = settings.base_url or base_url or "http://127.0.0.1:5000"
        log.warning("No admin password is set. Choose one at %s/setup/%s", base.rstrip("/"), token)
        print(f"MediaNest: choose the admin password at {base.rstrip('/')}/setup/{token}", flush=True)
    return admin


def is_token_request() -> bool:
    return bool(getattr(g, "auth_via_token", False)) or request.headers.get("Authorization", "").startswith("Bearer ")


def current_settings():
    return current_app.config["MEDIANEST"]
