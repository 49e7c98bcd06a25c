from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class Role(enum.StrEnum):
    agent = "agent"
    supervisor = "supervisor"
    unit = "unit"  # unit handler (承办单位经办人)
    admin = "admin"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16))
    # platform the user belongs to: a prefecture code, or "province" (sees every platform)
    platform: Mapped[str] = mapped_column(String(32), default="province")
    unit_code: Mapped[str | None] = mapped_column(String(64), nullable=True)  # for unit handlers
    sip_endpoint: Mapped[str | None] = mapped_column(String(64), nullable=True)  # agents' softphone
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
