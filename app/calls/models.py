from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow

# outcome values
IN_PROGRESS = "in_progress"
QUEUED = "queued"
ANSWERED = "answered"
COMPLETED = "completed"
ABANDONED = "abandoned"
VOICEMAIL = "voicemail"
UNANSWERED = "unanswered"  # ended without reaching a queue or a mailbox

#: Channel ids of simulated calls (`hotline call`, app.simcall) start with this: such a call is a test,
#: kept out of every figure (wallboard, reports, metrics).
TEST_CALL_PREFIX = "sim-"


def is_simulated(*ids: str | None) -> bool:
    return any(i and i.startswith(TEST_CALL_PREFIX) for i in ids)


class Call(Base):
    """One inbound (or outbound) call, from arrival to hang-up, kept current from AGI and AMI."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    uniqueid: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    linkedid: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    server: Mapped[str] = mapped_column(String(32), default="main")
    direction: Mapped[str] = mapped_column(String(8), default="in")
    channel: Mapped[str | None] = mapped_column(String(128), nullable=True)
    caller: Mapped[str] = mapped_column(String(64), default="")  # as Asterisk gave it
    caller_e164: Mapped[str | None] = mapped_column(String(32), index=True, nullable=True)
    caller_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    caller_name: Mapped[str | None] = mapped_column(String(128), nullable=True)
    trunk: Mapped[str | None] = mapped_column(String(64), nullable=True)
    did: Mapped[str | None] = mapped_column(String(32), nullable=True)  # the number dialled, normalised
    # the source hotline (并号/分线: 12345, 12315, a department's old line) the routing found for the DID
    source_hotline: Mapped[str | None] = mapped_column(String(16), index=True, nullable=True)
    prefecture: Mapped[str | None] = mapped_column(String(32), nullable=True)
    platform: Mapped[str | None] = mapped_column(String(32), index=True, nullable=True)
    route: Mapped[str | None] = mapped_column(String(16), nullable=True)  # queue|voicemail|fallback
    reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    queue: Mapped[str | None] = mapped_column(String(64), nullable=True)
    agent: Mapped[str | None] = mapped_column(String(128), nullable=True)  # queue member name
    agent_interface: Mapped[str | None] = mapped_column(String(128), nullable=True)
    outcome: Mapped[str] = mapped_column(String(16), default=IN_PROGRESS, index=True)
    hangup_cause: Mapped[str | None] = mapped_column(String(64), nullable=True)
    agi_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    hold_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    talk_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    arrived_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    routed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # a queue call-back (排队回拨, direction "out"): the uniqueid of the call whose caller asked for it
    callback_of: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    is_test: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # simulated call
