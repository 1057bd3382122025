"""Sessions: one row per signed-in browser, "remember me" series, signing out for real.

The Flask session cookie is signed, not secret-free: on its own, a copy taken
before sign-out would still work.  So every sign-in creates a
:class:`~medianest.models.UserSession` row whose random id travels in the
cookie; sign-out ends that row, and a role or status change ends all of a
user's rows (``User.end_all_sessions`` also rotates the user's session token,
which every cookie carries).

"Remember me" replaces Flask-Login's remember cookie with our own series
(``<series>.<token>``, only the token's SHA-256 stored, 90 days): every use
rotates the token, and an old token of a live series coming back revokes the
series — someone copied the cookie.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta
from typing import Any

from flask import Flask, current_app, g, request, session
from flask.sessions import SecureCookieSessionInterface
from flask.wrappers import Response
from flask_login import current_user, login_user, logout_user
from pydantic import Field

from medianest.events import Event, EventPayload, publish
from medianest.extensions import db
from medianest.models import RememberToken, User, UserSession, utcnow
from medianest.realtime import sign_out_sockets

log = logging.getLogger("medianest.auth")

REMEMBER_DAYS = 90
# Writing last_seen_at on every request would turn reads into writes.
TOUCH_EVERY = timedelta(minutes=5)


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed cookie session, skipped when a request neither brings nor leaves one.

    Flask builds the signing serializer (with every fallback key) on every
    request before it looks for the cookie, and reads every cookie setting
    before it finds an empty session has nothing to write; a script's API
    call has no cookie and leaves none.
    """

    def open_session(self, app: Flask, request: Any) -> Any:
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: Any, response: Any) -> None:
        # Nothing in it and nothing changed: Flask would read six cookie settings to do just this.
        if not session and not session.modified:
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


class FirstSignInPayload(EventPayload):
    via: str = Field(description="how they signed in (`local`, `plex`, ...)")


USER_FIRST_SIGN_IN = Event(
    "user.first_sign_in",
    FirstSignInPayload,
    description="A person signed in for the first time; `user_id` names them (the admins' inbox hears of it).",
)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def remember_cookie_name() -> str:
    # The __Host- prefix pins the cookie to this host, path / and HTTPS (OWASP ASVS 3.4.4).
    return "__Host-mn_remember" if current_app.config.get("SESSION_COOKIE_SECURE") else "mn_remember"


def _client_ip() -> str | None:
    return (request.remote_addr or "")[:64] or None


def start_session(user: User, remember: bool = False, via: str = "password") -> UserSession:
    """Sign ``user`` in with a brand-new session: nothing of the previous cookie survives (no fixation)."""
    _end_remember_series_of_request()
    session.clear()
    row = UserSession(
        id=secrets.token_urlsafe(32),
        user_id=user.id,
        user_agent=(request.user_agent.string or "")[:255] or None,
        ip=_client_ip(),
        via=via,
    )
    db.session.add(row)
    login_user(user, remember=False)
    session["sid"] = row.id
    session.permanent = True
    if remember:
        _issue_remember(user)
    first = user.last_login_at is None
    user.last_login_at = utcnow()
    db.session.commit()
    if first:
        publish("user.first_sign_in", {"user_id": user.id, "via": via})
    return row


def end_session() -> None:
    """Sign out this browser: its session row ends and its remember series is revoked."""

    sid = session.get("sid")
    if sid:
        row = db.session.get(UserSession, sid)
        if row is not None and row.ended_at is None:
            row.ended_at = utcnow()
    elif current_user.is_authenticated:
        # A session from before per-browser rows: only rotating the user's token ends it.
        user = db.session.get(User, current_user.id)
        if user is not None:
            user.end_all_sessions()
    _end_remember_series_of_request()
    db.session.commit()
    logout_user()
    session.clear()


def sign_out_everywhere(user: User) -> None:
    """End every session, remember series and open Socket.IO connection of ``user`` (commits)."""

    user.end_all_sessions()
    db.session.commit()
    try:
        sign_out_sockets(user.id)
    except Exception:  # the database change already signed them out of every new request
        log.exception("could not close the Socket.IO connections of user %s", user.id)


_NOT_LOADED = object()


def session_is_live(user: User, row: Any = _NOT_LOADED) -> bool:
    """Called by the user loader: the cookie's session row must exist, belong to the user and not have ended.

    ``row`` is the session row when the caller already loaded it with the user.
    """
    sid = session.get("sid")
    if not sid:
        return True  # sessions made before per-browser rows are governed by the user's token alone
    if row is _NOT_LOADED:
        row = db.session.get(UserSession, sid)
    if row is None or row.user_id != user.id or row.ended_at is not None:
        return False
    now = utcnow()
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
        db.session.commit()
    return True


# ---------------------------------------------------------------- remember me
def _issue_remember(user: User, series: RememberToken | None = None) -> None:
    token = secrets.token_urlsafe(32)
    if series is None:
        series = RememberToken(
            user_id=user.id,
            series=secrets.token_urlsafe(24),
            token_hash=_sha256(token),
            expires_at=utcnow() + timedelta(days=REMEMBER_DAYS),
        )
        db.session.add(series)
    else:
        series.token_hash = _sha256(token)
        series.last_used_at = utcnow()
    g.medianest_remember_set = f"{series.series}.{token}"


def _end_remember_series_of_request() -> None:
    raw = request.cookies.get(remember_cookie_name())
    if not raw:
        return
    row = db.session.scalar(db.select(RememberToken).where(RememberToken.series == raw.partition(".")[0]))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        row.revoked_reason = "signed out"
    g.medianest_remember_clear = True


def user_from_remember_cookie() -> User | None:
    """Sign in from the remember cookie, rotating its token; ``None`` when it is missing or no good."""
    raw = request.cookies.get(remember_cookie_name())
    if not raw or getattr(request, "sid", None) is not None:
        return None  # a Socket.IO handshake can't carry a new cookie back: never rotate there
    series_id, _, token = raw.partition(".")
    row = db.session.scalar(db.select(RememberToken).where(RememberToken.series == series_id)) if token else None
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        g.medianest_remember_clear = True
        return None
    if not secrets.compare_digest(row.token_hash, _sha256(token)):
        # The series is live but this token was already used: the cookie was copied.
        row.revoked_at = now
        row.revoked_reason = "an old token was replayed"
        db.session.commit()
        log.warning("remember-me token replayed for user %s from %s: series revoked", row.user_id, _client_ip())
        g.medianest_remember_clear = True
        return None
    user = db.session.get(User, row.user_id)
    if user is None or user.status != "active":
        g.medianest_remember_clear = True
        return None
    _issue_remember(user, row)
    session.clear()
    new = UserSession(
        id=secrets.token_urlsafe(32),
        user_id=user.id,
        user_agent=(request.user_agent.string or "")[:255] or None,
        ip=_client_ip(),
        via="remember",
    )
    db.session.add(new)
    session["_user_id"] = user.get_id()
    session["_fresh"] = False
    session["sid"] = new.id
    session.permanent = True
    db.session.commit()
    return user


def init_app(app: Flask) -> None:
    """Write the remember cookie changes a request decided on."""

    @app.after_request
    def _remember_cookie(response: Response) -> Response:
        name = remember_cookie_name()
        value = g.pop("medianest_remember_set", None)
        if value:
            response.set_cookie(
                name,
                value,
                max_age=int(timedelta(days=REMEMBER_DAYS).total_seconds()),
                httponly=True,
                samesite="Lax",
                secure=bool(app.config.get("SESSION_COOKIE_SECURE")),
                path="/",
            )
        elif g.pop("medianest_remember_clear", False):
            response.delete_cookie(name, path="/", secure=bool(app.config.get("SESSION_COOKIE_SECURE")), samesite="Lax")
        return response
