"""Personal API tokens: created with a name, shown once, stored as SHA-256, revoked by their owner."""

from __future__ import annotations

from sqlalchemy import update

from medianest.api import ApiError
from medianest.auth.identity import hash_token, new_api_token
from medianest.extensions import db
from medianest.models import ApiToken, User, utcnow

MAX_TOKENS_PER_USER = 50


def token_public(row: ApiToken) -> dict:
    return {
        "id": row.id,
        "name": row.name,
        "prefix": row.prefix,
        "created_at": row.created_at.isoformat() + "Z",
        "last_used_at": row.last_used_at.isoformat() + "Z" if row.last_used_at else None,
        "revoked_at": row.revoked_at.isoformat() + "Z" if row.revoked_at else None,
    }


def tokens_of(user: User, include_revoked: bool = False) -> list[ApiToken]:
    query = db.select(ApiToken).where(ApiToken.user_id == user.id)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return list(db.session.scalars(query.order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns the row and the secret (the only time it exists in clear)."""
    name = name.strip()
    if not name:
        raise ApiError("VALIDATION_ERROR", "Give the token a name, so you can tell it apart later.")
    if len(tokens_of(user)) >= MAX_TOKENS_PER_USER:
        raise ApiError("CONFLICT", f"You already have {MAX_TOKENS_PER_USER} tokens; revoke one first.")
    secret = new_api_token()
    row = ApiToken(user_id=user.id, name=name[:100], token_hash=hash_token(secret), prefix=secret[:10])
    db.session.add(row)
    db.session.commit()
    return row, secret


def revoke_token(user: User, token_id: int) -> ApiToken:
    """Revoke one of ``user``'s tokens (an admin may revoke anyone's). Another user's token answers 404."""
    row = db.session.get(ApiToken, token_id)
    if row is None or row.revoked_at is not None or (row.user_id != user.id and not user.is_admin):
        raise ApiError("NOT_FOUND", "That token does not exist.")
    row.revoked_at = utcnow()
    db.session.commit()
    return row


def revoke_presented_token(user: User, token: str) -> ApiToken | None:
    """Revoke the token a request authenticated with (signing out a script ends that token only)."""
    row = db.session.scalar(
        db.select(ApiToken).where(ApiToken.token_hash == hash_token(token), ApiToken.user_id == user.id)
    )
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.commit()
    return row


def revoke_all_tokens(user: User) -> int:
    """Revoke every live token of ``user``, for a suspension: reactivating the account brings none back.

    Not committed: the caller commits it with the change it belongs to.
    """
    result = db.session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).values(revoked_at=utcnow())
    )
    return result.rowcount or 0
