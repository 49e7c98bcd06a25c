"""Units directory: departments and public utilities that handle dispatched cases."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow

UNIT_KINDS = ("department", "utility")


class Unit(Base):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16), default="department")  # department | utility
    platform: Mapped[str] = mapped_column(String(32), index=True)  # a platform code of the platform config
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)  # duty phone for reminders
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
