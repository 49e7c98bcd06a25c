from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow

# status values: what the transferring agent's desktop and the call record show
REQUESTED = "requested"  # the backend asked Asterisk
RINGING = "ringing"  # the caller left the agent and the target rings (blind)
CONSULTING = "consulting"  # attended: the agent talks to the target, the caller holds
ANSWERED = "answered"  # the target took the call
COMPLETED = "completed"  # attended: the agent left, caller and target talk
CANCELLED = "cancelled"  # attended: the agent went back to the caller
FAILED = "failed"  # the target did not answer; the caller is on the way back
RETURNED = "returned"  # the caller is back with the transferring agent
REQUEUED = "requeued"  # the caller is back in the original queue
ABANDONED = "abandoned"  # the caller hung up during the transfer
ACTIVE = {REQUESTED, RINGING, CONSULTING, FAILED}
LABELS = {
    REQUESTED: "正在转接", RINGING: "对方振铃", CONSULTING: "咨询中（来电保持）", ANSWERED: "对方已接听",
    COMPLETED: "已转接", CANCELLED: "已取消转接", FAILED: "转接失败", RETURNED: "来电已回到您",
    REQUEUED: "来电已回到原队列", ABANDONED: "来电方已挂机",
}  # fmt: skip


class CallTransfer(Base):
    """One transfer leg of a call: who sent it where, with which note, and what became of it."""

    __tablename__ = "call_transfers"

    id: Mapped[int] = mapped_column(primary_key=True)
    xfer_id: Mapped[str] = mapped_column(String(32), unique=True)
    call_uniqueid: Mapped[str] = mapped_column(String(64), index=True)
    mode: Mapped[str] = mapped_column(String(8))  # blind | attended
    kind: Mapped[str] = mapped_column(String(8))  # queue | agent | external
    target: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(128))
    to_platform: Mapped[str | None] = mapped_column(String(32), nullable=True)
    from_user: Mapped[str] = mapped_column(String(64), index=True)
    from_platform: Mapped[str] = mapped_column(String(32))
    from_interface: Mapped[str] = mapped_column(String(128))
    from_queue: Mapped[str | None] = mapped_column(String(64), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    case_number: Mapped[str | None] = mapped_column(String(32), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=REQUESTED)
    detail: Mapped[str | None] = mapped_column(String(255), nullable=True)
    answered_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    consult_channel: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # across the trunk: the call's uniqueid on the receiving server (its own call row there)
    remote_uniqueid: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
