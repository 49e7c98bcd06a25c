"""Cases (工单), their units, the immutable audit log, number sequences and supervision reminders."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_status_due", "status", "due_at"),  # the overdue sweep's index
        Index("ix_cases_phone_status", "citizen_phone", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    platform: Mapped[str] = mapped_column(String(32), index=True)
    prefecture: Mapped[str | None] = mapped_column(String(32), nullable=True)
    channel: Mapped[str] = mapped_column(String(16))
    type: Mapped[str] = mapped_column(String(16))
    category_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    summary: Mapped[str] = mapped_column(String(255))
    detail: Mapped[str] = mapped_column(Text, default="")
    citizen_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    citizen_phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)  # citizen asked 保密
    call_uniqueid: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    # the hotline the citizen dialled (并号/分线), taken from the call; None for other channels
    source_hotline: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    lead_unit: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(24), default="intake")
    # per-stage deadlines, and the one governing the current stage (copied for the indexed sweep)
    dispatch_due: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    sign_due: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    return_due: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    handle_due: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # set by the sweep
    calendar_warning: Mapped[str | None] = mapped_column(String(255), nullable=True)
    extension_count: Mapped[int] = mapped_column(Integer, default=0)
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)  # direct answer or unit's reply
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)  # 1 满意 2 基本满意 3 不满意
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    transfer_to: Mapped[str | None] = mapped_column(String(32), nullable=True)
    merged_into: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)  # reports
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    # optimistic concurrency: every transition sets updated_at, and its UPDATE only applies if nobody
    # changed the case since it was read (two clicks on 签收 cannot both succeed); StaleDataError → 409
    __mapper_args__ = {"version_id_col": updated_at, "version_id_generator": False}


class CaseUnit(Base):
    """Units on a case: the lead (主办) and co-handling units (协办)."""

    __tablename__ = "case_units"
    __table_args__ = (UniqueConstraint("case_id", "unit_code", name="uq_case_units_case_unit"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    unit_code: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(8))  # lead | co


class CaseEvent(Base):
    """One transition: immutable (no update/delete API; the ORM refuses to change or delete it)."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor_name: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


@event.listens_for(CaseEvent, "before_update")
@event.listens_for(CaseEvent, "before_delete")
def _immutable(mapper: Any, connection: Any, target: CaseEvent) -> None:
    raise PermissionError("case audit rows are immutable")


class CaseNumberSeq(Base):
    __tablename__ = "case_number_seq"

    key: Mapped[str] = mapped_column(String(48), primary_key=True)  # "KM-20261126"
    last: Mapped[int] = mapped_column(Integer)


class CaseReminder(Base):
    """督办/催办 sent for one stage deadline of one case: at most one per (case, stage, kind, due)."""

    __tablename__ = "case_reminders"
    __table_args__ = (
        UniqueConstraint("case_id", "stage", "kind", "due_at", name="uq_case_reminders_key"),
        Index("ix_case_reminders_pending", "notified"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(16))  # dispatch | sign | handle | manual
    kind: Mapped[str] = mapped_column(String(16))  # overdue | near_due | manual
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="system")
    notified: Mapped[bool] = mapped_column(Boolean, default=False)


class CaseHandover(Base):
    """One 移交 of a case between platforms (prefecture ↔ province, or to a peer deployment): who sent it
    where and why, and the receiver's decision. The sending platforms keep seeing the case through
    these rows (its status to 办结 and 回访) without acting on it."""

    __tablename__ = "case_handovers"
    __table_args__ = (Index("ix_case_handovers_from", "from_platform", "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    from_platform: Mapped[str] = mapped_column(String(32))
    to_platform: Mapped[str] = mapped_column(String(32), index=True)
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), default="pending")  # pending | accepted | returned | recalled
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_by: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decision_note: Mapped[str | None] = mapped_column(Text, nullable=True)
