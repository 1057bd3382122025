"""An installed plugin's state shared by every process: an admin's switch, and the fault that stopped it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from medianest.extensions import db
from medianest.models.user import utcnow


class PluginState(db.Model):
    __tablename__ = "plugin_states"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[int | None]
    # A hook that raised after start-up; cleared when an admin enables the plugin again.
    error: Mapped[str | None] = mapped_column(Text)
    failed_at: Mapped[datetime | None]
