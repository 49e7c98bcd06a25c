"""The live queue/agent state of each Asterisk server as its AMI leader last saw it (one row per
server), so the service's other processes (HTTP workers, FastAGI) show and route on the same state
(app.telephony.shared; docs/adr/process-model.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class LiveState(Base):
    __tablename__ = "telephony_live_state"

    server: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    snapshot: Mapped[str] = mapped_column(Text)  # JSON: TelephonyState.dump_server
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
