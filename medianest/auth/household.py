"""Household members: local accounts an admin creates, and one-time invitations.

An admin brings someone in two ways.  Directly: a local account with a user
name and a password (the page, ``POST /api/v1/admin/users``, ``medianest
users add``).  Or by a link: an invitation works once, for ``INVITE_DAYS``
unless the admin says otherwise, and can be revoked; the person who opens it
chooses a local account of their own or signs in with Plex, and comes in with
the invitation's role.  Only the SHA-256 of an invitation's token is stored;
the link is shown once, when it is made.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import func, update

from medianest.api import ApiError
from medianest.audit import record
from medianest.auth.password_strength import check_new_password
from medianest.auth.passwords import hash_password
from medianest.extensions import db
from medianest.models import Invite, User, utcnow

INVITE_DAYS = Invite.DEFAULT_DAYS
MAX_INVITE_DAYS = Invite.MAX_DAYS
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")
USERNAME_RULE = "2 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_role(role: str) -> None:
    if role not in User.ROLES:
        raise ApiError("VALIDATION_ERROR", f"role must be one of {', '.join(User.ROLES)}.")


def check_username(username: str) -> str:
    """The user name trimmed, or ``VALIDATION_ERROR`` / ``USERNAME_TAKEN`` (names differ by more than case)."""
    name = (username or "").strip()
    if not USERNAME.match(name):
        raise ApiError(
            "VALIDATION_ERROR",
            f"A user name is {USERNAME_RULE}.",
            details={"fields": [{"field": "username", "message": f"Use {USERNAME_RULE}."}]},
        )
    taken = db.session.scalar(db.select(User.id).where(func.lower(User.username) == name.lower()))
    if taken is not None:
        raise ApiError(
            "USERNAME_TAKEN",
            f"The user name {name!r} is taken; choose another.",
            details={"fields": [{"field": "username", "message": "Taken; choose another."}]},
        )
    return name


def _clean(value: str | None, limit: int = 255) -> str | None:
    text = " ".join((value or "").split())[:limit]
    return text or None


def create_local_user(
    actor: Any,
    username: str,
    password: str,
    display_name: str | None = None,
    role: str = "user",
    email: str | None = None,
    confirm: str | None = None,
    via: str = "admin",
) -> User:
    """A local account with its own password (checked for strength), audited as ``user.created``.

    ``actor`` is the admin who made it, ``None`` for the command line or an invitation.
    """
    _check_role(role)
    name = check_username(username)
    display = _clean(display_name)
    check_new_password(password, confirm, [name, display, email])
    user = User(
        username=name,
        display_name=display,
        email=_clean(email),
        role=role,
        status="active",
        is_local=True,
        password_hash=hash_password(password),
    )
    db.session.add(user)
    db.session.flush()
    record("user.created", f"user:{user.id}", {"username": name, "role": role, "via": via}, actor=actor or user)
    return user


# ---------------------------------------------------------------- invitations
def create_invite(actor: Any, role: str = "user", note: str | None = None, days: float = INVITE_DAYS) -> tuple:
    """A new invitation and its token (to put in the link; it is not stored and can't be shown again)."""
    _check_role(role)
    if not 0 < days <= MAX_INVITE_DAYS:
        raise ApiError("VALIDATION_ERROR", f"An invitation lasts between 1 hour and {MAX_INVITE_DAYS} days.")
    token = secrets.token_urlsafe(32)
    invite = Invite(
        token_hash=_token_hash(token),
        role=role,
        note=_clean(note),
        created_by_id=getattr(actor, "id", None),
        expires_at=utcnow() + timedelta(days=days),
    )
    db.session.add(invite)
    db.session.flush()
    record(
        "invite.created",
        f"invite:{invite.id}",
        {"role": role, "note": invite.note, "expires_at": invite.to_public()["expires_at"]},
        actor=actor,
    )
    return invite, token


def invites(include_closed: bool = False) -> list[Invite]:
    """Invitations, newest first: the pending ones, or every one."""
    query = db.select(Invite).order_by(Invite.id.desc())
    if not include_closed:
        query = query.where(Invite.used_at.is_(None), Invite.revoked_at.is_(None), Invite.expires_at > utcnow())
    return list(db.session.scalars(query))


def revoke_invite(actor: Any, invite_id: int) -> Invite:
    invite = db.session.get(Invite, invite_id)
    if invite is None:
        raise ApiError("NOT_FOUND", "No such invitation.")
    state = invite.state()
    if state == "used":
        raise ApiError("CONFLICT", "This invitation was already used; suspend or delete the account instead.")
    if state == "pending":
        invite.revoked_at = utcnow()
        record("invite.revoked", f"invite:{invite.id}", {"role": invite.role, "note": invite.note}, actor=actor)
    return invite


_CLOSED = {
    "used": ("INVITE_USED", "This invitation was already used. If it was yours, sign in."),
    "expired": ("INVITE_EXPIRED", "This invitation has expired. Ask whoever sent it for a new one."),
    "revoked": ("INVITE_REVOKED", "This invitation was withdrawn. Ask whoever sent it for a new one."),
}


def open_invite(token: str) -> Invite:
    """The pending invitation of a link's token; ``NOT_FOUND`` or ``INVITE_USED``/``_EXPIRED``/``_REVOKED``."""
    invite = None
    if token and len(token) <= 128:
        invite = db.session.scalar(db.select(Invite).where(Invite.token_hash == _token_hash(token)))
    if invite is None:
        raise ApiError("NOT_FOUND", "This invitation link is not valid. Check that the whole link was copied.")
    state = invite.state()
    if state != "pending":
        code, message = _CLOSED[state]
        raise ApiError(code, message, details={"state": state})
    return invite


def _claim(invite: Invite) -> None:
    """Mark the invitation used in one statement, so two people racing with one link can't both come in."""
    now = utcnow()
    claimed = db.session.execute(
        update(Invite)
        .where(
            Invite.id == invite.id,
            Invite.used_at.is_(None),
            Invite.revoked_at.is_(None),
            Invite.expires_at > now,
        )
        .values(used_at=now)
    ).rowcount
    if not claimed:
        db.session.rollback()
        code, message = _CLOSED["used"]
        raise ApiError(code, message, details={"state": "used"})


def _used_by(invite_id: int, user: User, via: str) -> None:
    db.session.execute(update(Invite).where(Invite.id == invite_id).values(used_by_id=user.id))
    record("invite.used", f"invite:{invite_id}", {"user_id": user.id, "username": user.username, "via": via}, user)


def accept_with_password(
    token: str, username: str, password: str, confirm: str | None, display_name: str | None = None
) -> User:
    """Use an invitation to make a local account (commits); the caller signs the person in."""
    invite = open_invite(token)
    invite_id, role, note = invite.id, invite.role, invite.note
    _claim(invite)
    try:
        user = create_local_user(None, username, password, display_name or note, role, confirm=confirm, via="invite")
    except ApiError:
        db.session.rollback()  # the invitation stays unused: the person corrects the form and tries again
        raise
    _used_by(invite_id, user, "password")
    return user


def accept_with_plex(token: str, user: User, created: bool) -> None:
    """An invitation used by a Plex sign-in (before the caller commits): a new account takes its role and name."""
    invite = open_invite(token)
    invite_id = invite.id
    if created:
        user.role = invite.role
        if invite.note and not user.display_name:
            user.display_name = invite.note
    _claim(invite)
    db.session.flush()
    _used_by(invite_id, user, via="plex")
