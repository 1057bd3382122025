"""Sign-in and sign-out: pages and the JSON routes scripts use."""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import generate_csrf
from pydantic import Field

from medianest.access import csrf_exempt, login_required, public
from medianest.api import ApiError, Schema, api_route, ok
from medianest.auth.passwords import hash_password, needs_rehash, verify_password
from medianest.extensions import db, limiter
from medianest.models import InstallationValue, User, utcnow

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    return current_app.config["MEDIANEST"].rate_limit_login


def _ip_key() -> str:
    return f"ip:{request.remote_addr or 'unknown'}"


class LoginBody(Schema):
    username: str = Field(min_length=1, max_length=255)
    password: str = Field(min_length=1, max_length=1024)
    remember: bool = False


class SessionOut(Schema):
    id: int
    username: str
    name: str
    role: str
    csrf_token: str


def authenticate_local(username: str, password: str) -> User:
    user = db.session.scalar(db.select(User).where(User.username == username, User.is_local.is_(True)))
    if user is None or not verify_password(user.password_hash, password):
        raise ApiError("INVALID_CREDENTIALS", "Wrong user name or password.")
    if user.status != "active":
        raise ApiError("ACCOUNT_SUSPENDED", "This account is suspended.")
    if needs_rehash(user.password_hash or ""):
        user.password_hash = hash_password(password)
    return user


def start_session(user: User, remember: bool = False) -> None:
    """Sign the user in with a fresh session (no fixation: the old one is discarded)."""
    session.clear()
    login_user(user, remember=remember)
    session.permanent = True
    user.last_login_at = utcnow()
    db.session.commit()


def session_payload(user: User) -> dict:
    return {"id": user.id, "username": user.username, "name": user.name, "role": user.role, "csrf_token": generate_csrf()}


@bp.get("/auth/login")
@public
def login_page():
    """The sign-in page."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    return render_template("auth/login.html", next=request.args.get("next", ""))


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("dashboard.index")


@bp.post("/auth/login")
@limiter.limit(_login_limit, key_func=_ip_key)
@public
def login_form():
    """Sign in with the local account from the form."""
    try:
        user = authenticate_local(request.form.get("username", ""), request.form.get("password", ""))
    except ApiError as exc:
        flash(exc.message, "error")
        return render_template("auth/login.html", next=request.form.get("next", "")), exc.status
    start_session(user, remember=bool(request.form.get("remember")))
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/auth/logout")
@login_required
def logout_form():
    """Sign out (the form in the top bar)."""
    logout_user()
    session.clear()
    return redirect(url_for("auth.login_page"))


@bp.post("/api/v1/auth/login")
@limiter.limit(_login_limit, key_func=_ip_key)
@api_route(body=LoginBody, response=SessionOut, summary="Sign in with a local account", tags=["auth"])
@csrf_exempt
@public
def api_login(body: LoginBody):
    """Sign in with a local account; sets the session cookie. JSON bodies only."""
    user = authenticate_local(body.username, body.password)
    start_session(user, remember=body.remember)
    return ok(session_payload(user))


@bp.post("/api/v1/auth/logout")
@api_route(summary="End the session", tags=["auth"])
@login_required
def api_logout():
    """End this session."""
    logout_user()
    session.clear()
    return ok({"signed_out": True})


@bp.get("/api/v1/auth/session")
@api_route(response=SessionOut, summary="Who am I", tags=["auth"])
@login_required
def api_session():
    """The signed-in user, with the CSRF token for state-changing calls."""
    return ok(session_payload(current_user))


@bp.route("/setup/<token>", methods=["GET", "POST"])
@limiter.limit(_login_limit, key_func=_ip_key, methods=["POST"])
@public
def setup_admin(token: str):
    """Choose the local admin's password with the one-time link from the first start's log."""
    expected = InstallationValue.get("admin_setup_token")
    if not expected or not secrets.compare_digest(expected, token):
        abort(404)
    if request.method == "POST":
        password = request.form.get("password", "")
        if len(password) < 12:
            flash("Choose a password of at least 12 characters.", "error")
            return render_template("auth/setup.html", token=token), 400
        if password != request.form.get("confirm", ""):
            flash("The two passwords differ.", "error")
            return render_template("auth/setup.html", token=token), 400
        admin = db.session.scalar(db.select(User).where(User.username == "admin", User.is_local.is_(True)))
        admin.password_hash = hash_password(password)
        db.session.delete(db.session.get(InstallationValue, "admin_setup_token"))
        db.session.commit()
        start_session(admin)
        return redirect(url_for("dashboard.index"))
    return render_template("auth/setup.html", token=token)
