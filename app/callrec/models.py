from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class CallRecording(Base):
    """The recording of one answered call (one row per call; a transfer on the same server appends to
    the same file and updates the row). status: ok | failed | purged (recordings.calls)."""

    __tablename__ = "call_recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), unique=True)
    uniqueid: Mapped[str] = mapped_column(String(64), index=True)
    server: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(8), index=True)
    bytes: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    detail: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
