"""Admin: bringing people in — local accounts and invitation links, on the users page and in the JSON API."""

from __future__ import annotations

from typing import Any, Literal

from flask import flash, redirect, url_for
from flask_login import current_user
from htmx_flask import request
from pydantic import BaseModel, Field

from medianest.access import admin_required, rate_limit_identity
from medianest.admin.views import UserOut, _users_select, bp
from medianest.api import ApiError, PageQuery, Schema, api_route, ok, paginate
from medianest.auth import household
from medianest.extensions import db, limiter
from medianest.models import Invite, utcnow
from medianest.pages import page_or_fragment

# ``household`` is only used when a request comes: the module may still be loading when this one is
# (medianest.auth.plex -> household -> medianest.admin.audit -> this package).

# Admins' forms: generous, but a stolen session can't mint accounts by the thousand.
admin_form_limit = limiter.limit("60 per minute", key_func=rate_limit_identity, methods=["POST"])


# ---------------------------------------------------------------- schemas
class NewUserIn(Schema):
    username: str = Field(
        min_length=2, max_length=64, description="2 to 64 letters, digits, dots, dashes or underscores"
    )
    password: str = Field(min_length=1, max_length=1024, description="checked for strength (zxcvbn score 3 or more)")
    display_name: str | None = Field(default=None, max_length=255)
    email: str | None = Field(default=None, max_length=255)
    role: Literal["admin", "user"] = "user"


class InviteIn(Schema):
    role: Literal["admin", "user"] = "user"
    note: str | None = Field(default=None, max_length=255, description="who it is for; the new account's name")
    expires_in_days: float = Field(
        default=Invite.DEFAULT_DAYS, gt=0, le=Invite.MAX_DAYS, description="how long the link works"
    )


class InviteOut(BaseModel):
    id: int
    role: str
    note: str | None
    state: Literal["pending", "used", "expired", "revoked"]
    created_by_id: int | None
    created_at: str | None
    expires_at: str | None
    used_at: str | None
    used_by_id: int | None
    revoked_at: str | None


class NewInviteOut(InviteOut):
    url: str = Field(description="The link to send; shown in this answer only")
    token: str = Field(description="The secret part of the link; shown this once, never again")


class InviteQuery(PageQuery):
    include_closed: bool = Field(default=False, description="also the used, expired and revoked ones")


def _invite_url(token: str) -> str:
    return url_for("auth.invite_page", token=token, _external=True)


@bp.context_processor
def _household_context() -> dict[str, Any]:
    # A function, so only the pages that show the invitations query them.
    return {"pending_invites": household.invites, "invite_days": Invite.DEFAULT_DAYS}


def _users_answer(status: int = 200, **context: Any):
    return page_or_fragment(
        "admin/users.html", status=status, users=list(db.session.scalars(_users_select())), **context
    )


# ---------------------------------------------------------------- pages
@bp.post("/admin/users/new")
@admin_form_limit
@admin_required
def users_create():
    """Create a local account from the users page."""
    form = {k: request.form.get(k, "") for k in ("username", "display_name", "email", "role")}
    try:
        user = household.create_local_user(
            current_user,
            form["username"],
            request.form.get("password", ""),
            form["display_name"],
            form["role"] or "user",
            form["email"],
            confirm=request.form.get("confirm", ""),
        )
        db.session.commit()
    except ApiError as exc:
        db.session.rollback()
        return _users_answer(exc.status, add_error=exc, add_form=form)
    notice = f"{user.name} can now sign in as {user.username}."
    if request.htmx:
        return _users_answer(notice=notice)
    flash(notice, "success")
    return redirect(url_for("admin.users_page"))


@bp.post("/admin/invites")
@admin_form_limit
@admin_required
def invites_create():
    """Make an invitation link from the users page; the link is shown once."""
    try:
        days = float(request.form.get("days") or Invite.DEFAULT_DAYS)
        invite, token = household.create_invite(
            current_user, request.form.get("role") or "user", request.form.get("note"), days
        )
    except ValueError:
        return _users_answer(400, invite_error=ApiError("VALIDATION_ERROR", "Enter the days as a number."))
    except ApiError as exc:
        db.session.rollback()
        return _users_answer(exc.status, invite_error=exc)
    db.session.commit()
    # Shown on the answer itself, never through a redirect: the link is a secret, and only this page has it.
    return _users_answer(new_invite=invite, new_invite_url=_invite_url(token))


@bp.post("/admin/invites/<int:invite_id>/revoke")
@admin_form_limit
@admin_required
def invites_revoke(invite_id: int):
    """Withdraw an invitation from the users page."""
    try:
        household.revoke_invite(current_user, invite_id)
    except ApiError as exc:
        return _users_answer(exc.status, invite_error=exc)
    db.session.commit()
    if request.htmx:
        return _users_answer(notice="Invitation withdrawn.")
    flash("Invitation withdrawn.", "success")
    return redirect(url_for("admin.users_page"))


# ---------------------------------------------------------------- JSON
@bp.post("/api/v1/admin/users")
@api_route(
    body=NewUserIn, response=UserOut, status=201, summary="Create a local account", tags=["admin"], errors=(409,)
)
@admin_required
def api_user_create(body: NewUserIn):
    """A local account with its own password. A weak password is refused with ``WEAK_PASSWORD`` and
    zxcvbn's advice; a name already in use (in any case) with ``USERNAME_TAKEN``."""
    try:
        user = household.create_local_user(
            current_user, body.username, body.password, body.display_name, body.role, body.email
        )
    except ApiError:
        db.session.rollback()
        raise
    db.session.commit()
    return ok(user.to_public(), status=201)


@bp.get("/api/v1/admin/invites")
@api_route(query=InviteQuery, response=list[InviteOut], paginated=True, summary="Invitations", tags=["admin"])
@admin_required
def api_invites(query: InviteQuery):
    """The pending invitations, newest first (``include_closed=true``: every one)."""
    select = db.select(Invite).order_by(Invite.id.desc())
    if not query.include_closed:
        select = select.where(Invite.used_at.is_(None), Invite.revoked_at.is_(None), Invite.expires_at > utcnow())
    rows, meta = paginate(select, query.page, query.per_page)
    return ok([i.to_public() for i in rows], meta)


@bp.post("/api/v1/admin/invites")
@api_route(body=InviteIn, response=NewInviteOut, status=201, summary="Invite someone", tags=["admin"])
@admin_required
def api_invite_create(body: InviteIn):
    """A one-time invitation link (7 days unless ``expires_in_days`` says otherwise).

    The link (``url``) is in this answer only: only its hash is stored.  Whoever
    opens it makes a local account or signs in with Plex, with the invitation's role.
    """
    invite, token = household.create_invite(current_user, body.role, body.note, body.expires_in_days)
    db.session.commit()
    return ok({**invite.to_public(), "url": _invite_url(token), "token": token}, status=201)


@bp.delete("/api/v1/admin/invites/<int:invite_id>")
@api_route(response=InviteOut, summary="Withdraw an invitation", tags=["admin"], errors=(404, 409))
@admin_required
def api_invite_revoke(invite_id: int):
    """The link stops working at once. A used invitation can't be withdrawn (``CONFLICT``)."""
    invite = household.revoke_invite(current_user, invite_id)
    db.session.commit()
    return ok(invite.to_public())
