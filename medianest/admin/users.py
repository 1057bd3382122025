"""What admins do to people: promote, demote, suspend, reactivate, delete — each audited.

A role or status change signs the person out everywhere at once (sessions,
remember cookies, open Socket.IO connections); a suspension also revokes
their API tokens.  Deleting someone publishes ``user.deleted``, so plugins
remove what they keep for that person outside the database.  No admin can lock the
household out: the last active admin can't be demoted, suspended or deleted,
and nobody changes their own role or status.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError

from medianest.api import ApiError
from medianest.audit import record
from medianest.auth.sessions import sign_out_everywhere
from medianest.auth.tokens import revoke_all_tokens
from medianest.events import Event, EventPayload, publish
from medianest.extensions import db
from medianest.models import User


class UserDeletedPayload(EventPayload):
    username: str = Field(description="the deleted person's user name")


USER_DELETED = Event(
    "user.deleted",
    UserDeletedPayload,
    description="An admin deleted a person; `user_id` names them. Plugins remove what they keep for them.",
)


def _get(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise ApiError("NOT_FOUND", "No such user.")
    return user


def _other_active_admins(user: User) -> int:
    return (
        db.session.scalar(
            db.select(func.count(User.id)).where(User.role == "admin", User.status == "active", User.id != user.id)
        )
        or 0
    )


def change_user(actor: Any, user_id: int, role: str | None = None, status: str | None = None) -> User:
    user = _get(user_id)
    if role is not None and role not in User.ROLES:
        raise ApiError("VALIDATION_ERROR", f"role must be one of {', '.join(User.ROLES)}.")
    if status is not None and status not in User.STATUSES:
        raise ApiError("VALIDATION_ERROR", f"status must be one of {', '.join(User.STATUSES)}.")
    changes: dict[str, list[str]] = {}
    if role is not None and role != user.role:
        changes["role"] = [user.role, role]
    if status is not None and status != user.status:
        changes["status"] = [user.status, status]
    if not changes:
        return user
    if user.id == actor.id:
        raise ApiError("CONFLICT", "You can't change your own role or status; ask another admin.")
    loses_admin = user.role == "admin" and user.status == "active" and (role == "user" or status == "suspended")
    if loses_admin and _other_active_admins(user) == 0:
        raise ApiError("LAST_ADMIN", "This is the last active admin; promote someone else first.")
    if role is not None:
        user.role = role
    if status is not None:
        user.status = status
    details: dict[str, Any] = {"username": user.username, **changes}
    if changes.get("status", [None, None])[1] == "suspended":
        # Tokens die with the suspension: a later reactivation restores the
        # account, not every script that held a key to it.
        details["tokens_revoked"] = revoke_all_tokens(user)
    sign_out_everywhere(user)  # commits
    record("user.updated", f"user:{user.id}", details, actor=actor)
    return user


def delete_user(actor: Any, user_id: int) -> dict:
    user = _get(user_id)
    if user.id == actor.id:
        raise ApiError("CONFLICT", "You can't delete your own account.")
    if user.is_local and user.username == "admin":
        raise ApiError("CONFLICT", "The local admin can't be deleted: it is the way back in when Plex is unreachable.")
    if user.role == "admin" and user.status == "active" and _other_active_admins(user) == 0:
        raise ApiError("LAST_ADMIN", "This is the last active admin; promote someone else first.")
    public = user.to_public()
    sign_out_everywhere(user)
    try:
        db.session.delete(user)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ApiError("CONFLICT", "Other records still point at this user; suspend the account instead.") from None
    record("user.deleted", f"user:{public['id']}", {"username": public["username"]}, actor=actor)
    # What plugins keep outside the database (a downloads folder) goes through the event.
    publish("user.deleted", {"user_id": public["id"], "username": public["username"]})
    return public
