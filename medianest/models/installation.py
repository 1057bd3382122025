"""Values that belong to this installation (its Plex client id, setup token, ...)."""

from __future__ import annotations

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from medianest.extensions import db


class InstallationValue(db.Model):
    __tablename__ = "installation_values"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)

    @classmethod
    def get(cls, key: str) -> str | None:
        row = db.session.get(cls, key)
        return row.value if row else None

    @classmethod
    def get_or_create(cls, key: str, factory) -> str:
        row = db.session.get(cls, key)
        if row is None:
            row = cls(key=key, value=factory())
            db.session.add(row)
            db.session.commit()
        return row.value
