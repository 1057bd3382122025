"""Sign-in and sign-out, Plex PIN, password and personal API tokens: pages and the JSON routes scripts use."""

from __future__ import annotations

import secrets
import unicodedata
from urllib.parse import unquote, urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.wrappers import Response
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from limits import parse as parse_limit
from pydantic import Field

from medianest.access import csrf_exempt, login_required, public
from medianest.api import ApiError, Schema, api_route, ok
from medianest.audit import record
from medianest.auth import plex as plex_signin
from medianest.auth import tokens as api_tokens
from medianest.auth.identity import bearer_token
from medianest.auth.password_strength import check_new_password
from medianest.auth.passwords import hash_password, needs_rehash, verify_password
from medianest.auth.sessions import end_session, start_session
from medianest.extensions import csrf, db, limiter
from medianest.models import InstallationValue, User
from medianest.pages import page_or_fragment

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    return current_app.config["MEDIANEST"].rate_limit_login


def _ip_key() -> str:
    return f"ip:{request.remote_addr or 'unknown'}"


# One budget per address for every way of proving who you are: the sign-in
# form and JSON, starting a Plex PIN, the setup link and the password change.
# Failed API tokens are counted into the same budget (identity.count_guess).
sign_in_limit = limiter.shared_limit(_login_limit, scope="sign-in", key_func=_ip_key, methods=["POST"])


def _account_limit() -> str:
    return current_app.config["MEDIANEST"].rate_limit_login_account


def _account_key() -> str:
    """The account a sign-in names, the same from every address: its user name, trimmed and case-folded."""
    if request.is_json:
        body = request.get_json(silent=True)
        name = body.get("username") if isinstance(body, dict) else None
    else:
        name = request.form.get("username")
    return "account:" + str(name or "").strip().casefold()[:255]


def _account_limit_message() -> str:
    return f"{parse_limit(_account_limit())} failed sign-ins to one account"


def _failed_sign_in(response: Response) -> bool:
    return response.status_code == 401


# And one budget per account, whatever the address: many addresses guessing one
# password share it.  Only failures count (a right password is never refused
# because the owner signed in often); a success does not reset it, so the owner
# waits out the window like anyone else, and no longer.
account_sign_in_limit = limiter.shared_limit(
    _account_limit,
    scope="sign-in-account",
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_failed_sign_in,
    error_message=_account_limit_message,
)


class LoginBody(Schema):
    username: str = Field(min_length=1, max_length=255)
    password: str = Field(min_length=1, max_length=1024)
    remember: bool = False


class SessionOut(Schema):
    id: int
    username: str
    name: str
    role: str
    csrf_token: str | None = Field(description="For a browser session: send it as X-CSRFToken; null with an API token")


class PinOut(Schema):
    status: str = Field(description="waiting, authorized or expired")
    code: str | None = None
    auth_url: str | None = None
    expires_at: str | None = None
    user: SessionOut | None = None
    message: str | None = None
    csrf_token: str | None = Field(
        default=None, description="Send it as X-CSRFToken when starting again with the cookie this answer set"
    )


class TokenIn(Schema):
    name: str = Field(min_length=1, max_length=100)


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None


class NewTokenOut(TokenOut):
    token: str = Field(description="The secret; shown this once, never again")


def authenticate_local(username: str, password: str) -> User:
    user = db.session.scalar(db.select(User).where(User.username == username, User.is_local.is_(True)))
    # Always one Argon2 verification (against a dummy hash without an account),
    # so the answer's timing does not tell whether the account exists.
    if not verify_password(user.password_hash if user is not None else None, password) or user is None:
        raise ApiError("INVALID_CREDENTIALS", "Wrong user name or password.")
    if user.status != "active":
        raise ApiError("ACCOUNT_SUSPENDED", "This account is suspended.")
    if needs_rehash(user.password_hash or ""):
        user.password_hash = hash_password(password)
    return user


def session_payload(user: User) -> dict:
    """Who is signed in; the CSRF token only for a browser session (a token caller needs none, and gets no cookie)."""
    return {
        "id": user.id,
        "username": user.username,
        "name": user.name,
        "role": user.role,
        "csrf_token": None if g.get("auth_via_token") else generate_csrf(),
    }


def is_local_path(target: object) -> bool:
    """Whether ``target`` is a path on this site, safe to send a browser to after it signs in.

    Browsers drop tabs and newlines from a URL and read a backslash as a
    slash, so ``/<tab>/evil.example`` leads off the site as ``//evil.example``
    does; a value may also arrive percent-encoded once more than it is used.
    So the value and each decoding of it must start with one ``/``, and
    carry no backslash, no control character and no scheme or host.
    """
    if not isinstance(target, str) or len(target) > 2048:
        return False
    value = target
    for _ in range(4):
        if not _plain_path(value):
            return False
        decoded = unquote(value)
        if decoded == value:
            return True
        value = decoded
    return False  # encoded deeper than any page of ours writes it


def _plain_path(value: str) -> bool:
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return False
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in value):
        return False
    parts = urlsplit(value)
    return not parts.scheme and not parts.netloc


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: ``target`` when it is a path on this site, else the dashboard."""
    return target if is_local_path(target) else url_for("dashboard.index")


def _next_field(target: str | None) -> str:
    """The sign-in form carries ``next`` on only when it is safe to follow."""
    return target if is_local_path(target) else ""


# ---------------------------------------------------------------- local sign-in
@bp.get("/auth/login")
@public
def login_page():
    """The sign-in page."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    return render_template("auth/login.html", next=_next_field(request.args.get("next")))


@bp.post("/auth/login")
@sign_in_limit
@account_sign_in_limit
@public
def login_form():
    """Sign in with the local account from the form."""
    try:
        user = authenticate_local(request.form.get("username", ""), request.form.get("password", ""))
    except ApiError as exc:
        flash(exc.message, "error")
        return render_template(
            "auth/login.html", next=_next_field(request.form.get("next")), error_code=exc.code
        ), exc.status
    start_session(user, remember=bool(request.form.get("remember")))
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/auth/logout")
@login_required
def logout_form():
    """Sign out (the form in the top bar)."""
    end_session()
    return redirect(url_for("auth.login_page"))


@bp.post("/api/v1/auth/login")
@sign_in_limit
@account_sign_in_limit
@api_route(
    body=LoginBody, response=SessionOut, summary="Sign in with a local account", tags=["auth"], errors=(401, 403, 429)
)
@csrf_exempt
@public
def api_login(body: LoginBody):
    """Sign in with a local account; sets the session cookie. JSON bodies only."""
    user = authenticate_local(body.username, body.password)
    start_session(user, remember=body.remember)
    return ok(session_payload(user))


@bp.post("/api/v1/auth/logout")
@api_route(summary="End the session, or revoke the API token used", tags=["auth"])
@login_required
def api_logout():
    """End this session (its cookie stops working, also any copy of it).

    Called with an API token, it revokes that token and nothing else: the
    person's browsers stay signed in.
    """
    if g.get("auth_via_token"):
        api_tokens.revoke_presented_token(current_user, bearer_token(request) or "")
        return ok({"signed_out": True, "token_revoked": True})
    end_session()
    return ok({"signed_out": True, "token_revoked": False})


@bp.get("/api/v1/auth/session")
@api_route(response=SessionOut, summary="Who am I", tags=["auth"])
@login_required
def api_session():
    """The signed-in user, with the CSRF token for state-changing calls."""
    return ok(session_payload(current_user))


@bp.route("/setup/<token>", methods=["GET", "POST"])
@sign_in_limit
@public
def setup_admin(token: str):
    """Choose the local admin's password with the one-time link from the first start's log."""
    expected = InstallationValue.get("admin_setup_token")
    admin = db.session.scalar(db.select(User).where(User.username == "admin", User.is_local.is_(True)))
    if not expected or not secrets.compare_digest(expected, token):
        # A link that did its job (the password is chosen) says so, and where to go instead.
        used = not expected and admin is not None and admin.password_hash is not None
        return render_template("auth/setup_gone.html", used=used), 410 if used else 404
    if request.method == "POST":
        password = request.form.get("password", "")
        try:
            check_new_password(password, request.form.get("confirm", ""), ["admin", "medianest"])
        except ApiError as exc:
            flash(exc.message, "error")
            return render_template("auth/setup.html", token=token, error_code=exc.code), 400
        admin.password_hash = hash_password(password)
        db.session.delete(db.session.get(InstallationValue, "admin_setup_token"))
        db.session.commit()
        start_session(admin, via="setup")
        return redirect(url_for("dashboard.index"))
    return render_template("auth/setup.html", token=token)


# ---------------------------------------------------------------- password
@bp.route("/auth/password", methods=["GET", "POST"])
@sign_in_limit
@login_required
def password_page():
    """Change your own password (local accounts). Your other sessions are signed out."""
    user = db.session.get(User, current_user.id)
    from_env = user.username == "admin" and user.is_local and bool(current_app.config["MEDIANEST"].admin_password)
    if request.method == "GET":
        return render_template("auth/password.html", user=user, from_env=from_env)
    problem = _password_problem(user, from_env)
    if problem:
        flash(problem.message, "error")
        return render_template(
            "auth/password.html", user=user, from_env=from_env, error_code=problem.code
        ), problem.status
    user.password_hash = hash_password(request.form["new_password"])
    user.end_all_sessions()  # every other browser and remember cookie; this one starts afresh
    db.session.commit()

    record("user.password_changed", f"user:{user.id}", {})
    start_session(user, via="password")
    flash("Password changed. Your other sessions were signed out.", "success")
    return redirect(url_for("auth.password_page"))


def _password_problem(user: User, from_env: bool) -> ApiError | None:
    if not user.is_local:
        return ApiError("FORBIDDEN", "This account signs in with Plex; change its password at plex.tv.")
    if from_env:
        return ApiError(
            "PASSWORD_FROM_ENVIRONMENT",
            "The admin password is set by MEDIANEST_ADMIN_PASSWORD; change it there and restart.",
        )
    if not verify_password(user.password_hash, request.form.get("current_password", "")):
        return ApiError("INVALID_CREDENTIALS", "The current password is wrong.")
    new = request.form.get("new_password", "")
    try:
        check_new_password(new, user_inputs=[user.username, user.display_name, user.email])
    except ApiError as exc:
        return exc
    if new != request.form.get("confirm", ""):
        return ApiError("VALIDATION_ERROR", "The two new passwords differ.")
    return None


# ---------------------------------------------------------------- Plex PIN
def _pin_json(state: plex_signin.PinState) -> dict:
    data = {
        "status": state.status,
        "code": state.code,
        "auth_url": state.auth_url,
        "expires_at": state.expires_at,
        # The answer sets the session cookie: starting again with it needs this token.
        "csrf_token": generate_csrf(),
    }
    if state.status == "expired":
        data.update(code=None, auth_url=None, message="The PIN expired before it was used; start again.")
    return data


@bp.post("/api/v1/auth/plex/pin")
@sign_in_limit
@api_route(
    response=PinOut, status=201, summary="Start signing in with Plex", tags=["auth"], errors=(403, 429, 502, 503)
)
@csrf_exempt  # checked below, when there is a cookie to forge with
@public
def api_plex_pin_start():
    """Ask plex.tv for a PIN; open ``auth_url``, then poll ``GET /api/v1/auth/plex/pin`` every 2 s.

    A client without cookies needs no CSRF token: a forged request would carry
    the browser's cookies, and a request without any has no session to abuse.
    A client that sends cookies sends the ``csrf_token`` of its last answer here.
    """
    if request.cookies:
        csrf.protect()
    state = plex_signin.start_pin()
    return ok(_pin_json(state), status=201)


@bp.get("/api/v1/auth/plex/pin")
@api_route(response=PinOut, summary="Poll the Plex sign-in", tags=["auth"], errors=(400, 403, 502, 503))
@public
def api_plex_pin_poll():
    """``waiting`` until the PIN is approved at plex.tv, then ``authorized`` (the session cookie is set),
    or ``expired``."""
    state = plex_signin.poll_pin()
    data = _pin_json(state)
    if state.status == "authorized":
        start_session(state.user, via="plex")
        data["user"] = session_payload(state.user)
    return ok(data)


@bp.post("/auth/plex")
@sign_in_limit
@public
def plex_start():
    """Start signing in with Plex from the sign-in page."""
    session["plex_next"] = _safe_next(request.form.get("next"))
    try:
        state = plex_signin.start_pin(forward_url=url_for("auth.plex_page", _external=True))
    except ApiError as exc:
        return _plex_answer(None, exc)
    if not request.htmx:
        return redirect(url_for("auth.plex_page"))
    return _plex_answer(state)


@bp.get("/auth/plex")
@public
def plex_page():
    """The Plex sign-in in progress: the code, the link, and (htmx) a poll every 2 s."""
    if plex_signin.pending_pin() is None:
        if current_user.is_authenticated:
            return redirect(url_for("dashboard.index"))
        return redirect(url_for("auth.login_page"))
    try:
        state = plex_signin.poll_pin()
    except ApiError as exc:
        return _plex_answer(None, exc)
    if state.status == "authorized":
        target = _safe_next(session.pop("plex_next", None))
        start_session(state.user, via="plex")
        if request.htmx:
            response = make_response("", 200)
            response.headers["HX-Redirect"] = target
            return response
        return redirect(target)
    return _plex_answer(state)


def _plex_answer(state: plex_signin.PinState | None, error: ApiError | None = None):
    status = error.status if error else 200
    return page_or_fragment("auth/plex_pin.html", "auth/plex_widget.html", status=status, state=state, error=error)


# ---------------------------------------------------------------- API tokens
@bp.get("/auth/tokens")
@login_required
def tokens_page():
    """Your personal API tokens: create, see last use, revoke."""
    return _tokens_answer()


def _tokens_answer(new_secret: str | None = None, error: ApiError | None = None, status: int = 200):
    rows = [api_tokens.token_public(t) for t in api_tokens.tokens_of(current_user)]
    response = page_or_fragment("auth/tokens.html", status=status, tokens=rows, new_secret=new_secret, error=error)
    response.headers["Cache-Control"] = "no-store"  # the page may carry a secret shown once
    return response


@bp.post("/auth/tokens")
@login_required
def tokens_create():
    """Create a token from the page; its secret is shown once."""
    try:
        _row, secret = api_tokens.create_token(current_user, request.form.get("name", ""))
    except ApiError as exc:
        return _tokens_answer(error=exc, status=exc.status)
    return _tokens_answer(new_secret=secret, status=201)


@bp.post("/auth/tokens/<int:token_id>/revoke")
@login_required
def tokens_revoke(token_id: int):
    """Revoke a token from the page."""
    try:
        api_tokens.revoke_token(current_user, token_id)
    except ApiError as exc:
        return _tokens_answer(error=exc, status=exc.status)
    if request.htmx:
        return _tokens_answer()
    return redirect(url_for("auth.tokens_page"))


@bp.get("/api/v1/auth/tokens")
@api_route(response=list[TokenOut], summary="Your API tokens", tags=["auth"])
@login_required
def api_tokens_list():
    """Your active personal API tokens with their last use (never the secrets)."""
    return ok([api_tokens.token_public(t) for t in api_tokens.tokens_of(current_user)])


@bp.post("/api/v1/auth/tokens")
@api_route(body=TokenIn, response=NewTokenOut, status=201, summary="Create an API token", tags=["auth"])
@login_required
def api_tokens_create(body: TokenIn):
    """Create a personal API token. The secret is in this answer only; store it now."""
    row, secret = api_tokens.create_token(current_user, body.name)
    return ok({**api_tokens.token_public(row), "token": secret}, status=201)


@bp.delete("/api/v1/auth/tokens/<int:token_id>")
@api_route(response=TokenOut, summary="Revoke an API token", tags=["auth"], errors=(404,))
@login_required
def api_tokens_revoke(token_id: int):
    """Revoke one of your tokens; it stops working at once."""
    return ok(api_tokens.token_public(api_tokens.revoke_token(current_user, token_id)))
