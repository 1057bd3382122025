"""People who sign in, and their personal API tokens."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, Text, update
from sqlalchemy.orm import Mapped, mapped_column, relationship

from medianest.extensions import db


def utcnow() -> datetime:
    """Naive UTC, the one time representation stored in every table."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    ROLES = ("admin", "user")
    STATUSES = ("active", "suspended")

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(255), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="user")
    status: Mapped[str] = mapped_column(String(16), default="active")
    is_local: Mapped[bool] = mapped_column(default=False)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    plex_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    plex_username: Mapped[str | None] = mapped_column(String(255))
    plex_thumb: Mapped[str | None] = mapped_column(String(1024))
    # The account's plex.tv token, encrypted with the settings keyring (medianest.auth.plex).
    plex_token: Mapped[str | None] = mapped_column(Text)
    # Flask-Login's "alternative id": changing it signs the user out everywhere.
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", cascade="all, delete-orphan")

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.status == "active"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def plex_token_purpose(self) -> str:
        """The associated data of ``plex_token``'s ciphertext (medianest.keyring)."""
        return f"users.plex_token.{self.id}"

    @property
    def name(self) -> str:
        return self.display_name or self.username

    def end_all_sessions(self) -> None:
        """Invalidate every cookie session and remember token of this user.

        Open Socket.IO connections are closed by ``medianest.realtime.sign_out_sockets``
        once the change is committed (see ``medianest.auth.sessions.sign_out_everywhere``).
        """
        self.session_token = new_session_token()
        if self.id is not None:
            now = utcnow()
            db.session.execute(
                update(UserSession)
                .where(UserSession.user_id == self.id, UserSession.ended_at.is_(None))
                .values(ended_at=now)
            )
            db.session.execute(
                update(RememberToken)
                .where(RememberToken.user_id == self.id, RememberToken.revoked_at.is_(None))
                .values(revoked_at=now, revoked_reason="signed out everywhere")
            )

    def to_public(self) -> dict:
        return {
            "id": self.id,
            "username": self.username,
            "name": self.name,
            "email": self.email,
            "role": self.role,
            "status": self.status,
            "plex_id": self.plex_id,
            "is_local": self.is_local,
            "created_at": self.created_at.isoformat() + "Z" if self.created_at else None,
            "last_login_at": self.last_login_at.isoformat() + "Z" if self.last_login_at else None,
        }


class ApiToken(db.Model):
    """A personal token for scripts; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens")


class UserSession(db.Model):
    """One signed-in browser. Its random id travels in the signed session cookie;
    ending the row ends that session, whatever copy of the cookie is replayed later."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    user_agent: Mapped[str | None] = mapped_column(String(255))
    ip: Mapped[str | None] = mapped_column(String(64))
    via: Mapped[str] = mapped_column(String(16), default="password")  # password, plex, remember, setup


class RememberToken(db.Model):
    """A "remember me" series: the cookie holds ``<series>.<token>``; only the token's SHA-256 is stored.

    The token changes on every use.  An old token of a live series coming back
    means the cookie was copied: the whole series is revoked.
    """

    __tablename__ = "remember_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    series: Mapped[str] = mapped_column(String(64), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(100))
