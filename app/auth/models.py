from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, Float, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from app.auth.scope import provincial_platform
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
    # platform the user belongs to: a prefecture's code, or the provincial platform's (sees every platform)
    platform: Mapped[str] = mapped_column(String(32), default=lambda: provincial_platform())
    unit_code: Mapped[str | None] = mapped_column(String(64), nullable=True)  # for unit handlers
    sip_endpoint: Mapped[str | None] = mapped_column(String(64), nullable=True)  # agents' softphone
    # agents' skills with levels, "market:5,yi:3" (callflow.skills; set on 用户管理 by an administrator)
    skills: Mapped[str | None] = mapped_column(String(255), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # sessions are revocable: a token carries the version it was issued under; logout, a password
    # change and an administrator disabling the user bump it, which ends every session of that user
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # set when an administrator creates the user or resets the password: the user must choose one
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LoginFailures(Base):
    """Failed logins per account or address, shared by the worker processes (app.auth.throttle)."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(
        String(64), primary_key=True
    )  # sha256 of "account:<name>" / "address:<ip>"
    failures: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[float] = mapped_column(Float)  # epoch seconds
    locked_until: Mapped[float] = mapped_column(Float, index=True)
