"""External services: their stored settings and what the health checks saw."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from medianest.extensions import db
from medianest.models.user import utcnow


class ServiceSetting(db.Model):
    """One field of one service's settings; the value is always encrypted."""

    __tablename__ = "service_settings"

    service: Mapped[str] = mapped_column(String(64), primary_key=True)
    field: Mapped[str] = mapped_column(String(64), primary_key=True)
    ciphertext: Mapped[str] = mapped_column(Text)
    is_secret: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @staticmethod
    def purpose_of(service: str, field: str) -> str:
        """The associated data of a value's ciphertext (medianest.keyring)."""
        return f"{service}.{field}"

    @property
    def purpose(self) -> str:
        return self.purpose_of(self.service, self.field)


class ServiceStatus(db.Model):
    """The latest health-check result of one service (the dashboard reads only this)."""

    __tablename__ = "service_statuses"

    service: Mapped[str] = mapped_column(String(100), primary_key=True)
    plugin: Mapped[str | None] = mapped_column(String(100))
    display_name: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="unconfigured")
    critical: Mapped[bool] = mapped_column(default=False)
    response_ms: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict | None] = mapped_column(JSON)
    checked_at: Mapped[datetime | None]
    changed_at: Mapped[datetime | None]
    # The circuit breaker as the process running the checks saw it (closed/open/half-open).
    breaker_state: Mapped[str | None] = mapped_column(String(16))
    breaker_failures: Mapped[int | None]

    def to_public(self) -> dict:
        return {
            "service": self.service,
            "plugin": self.plugin,
            "name": self.display_name or self.service,
            "status": self.status,
            "critical": self.critical,
            "response_ms": self.response_ms,
            "error": self.error,
            "details": self.details or {},
            "checked_at": self.checked_at.isoformat() + "Z" if self.checked_at else None,
            "changed_at": self.changed_at.isoformat() + "Z" if self.changed_at else None,
            "breaker": {"state": self.breaker_state, "failures": self.breaker_failures} if self.breaker_state else None,
        }


class ServiceCheck(db.Model):
    """History of health-check results, for uptime and response-time charts."""

    __tablename__ = "service_checks"
    __table_args__ = (Index("ix_service_checks_service_checked_at", "service", "checked_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))
    response_ms: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)


class ServiceAnswer(db.Model):
    """The last good answer of a service for one key, kept so a page can show it (marked stale)
    while the service is down.

    Embedded mode only; production keeps these in Redis (:mod:`medianest.service_cache`).
    """

    __tablename__ = "service_answers"

    service: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    stored_at: Mapped[datetime] = mapped_column(default=utcnow)
