"""What reports keep: the scheduled reports sent (one row per kind and period, so a restart or a second
worker never sends one twice) and the hot-topic bursts already alerted."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class ReportDelivery(Base):
    __tablename__ = "report_deliveries"
    __table_args__ = (UniqueConstraint("kind", "period", name="uq_report_deliveries_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # daily | monthly
    period: Mapped[str] = mapped_column(String(16))  # 2026-11-30 | 2026-11
    recipients: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TopicAlert(Base):
    __tablename__ = "topic_alerts"
    __table_args__ = (UniqueConstraint("term", "prefecture", "category", "day", name="uq_topic_alerts_term"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    term: Mapped[str] = mapped_column(String(32))
    prefecture: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(16))
    day: Mapped[str] = mapped_column(String(10))
    count: Mapped[int] = mapped_column(Integer)
    baseline: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# ---- the daily rollup (docs/adr/report-rollup.md) ------------------------------------------------


class CallDay(Base):
    """Additive call counters of one local day per platform and source hotline."""

    __tablename__ = "report_call_days"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    platform: Mapped[str | None] = mapped_column(String(32), nullable=True)
    hotline: Mapped[str | None] = mapped_column(String(16), nullable=True)
    offered: Mapped[int] = mapped_column(Integer)
    answered: Mapped[int] = mapped_column(Integer)
    within_15s: Mapped[int] = mapped_column(Integer)
    abandoned: Mapped[int] = mapped_column(Integer)
    hold_sum: Mapped[float] = mapped_column(Float)
    hold_n: Mapped[int] = mapped_column(Integer)
    talk_sum: Mapped[float] = mapped_column(Float)
    talk_n: Mapped[int] = mapped_column(Integer)


class CaseDay(Base):
    """Additive case counters of the cases accepted on one local day, per platform, source hotline,
    channel, lead unit and full category code (a report's category filter may be a subcategory)."""

    __tablename__ = "report_case_days"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    platform: Mapped[str | None] = mapped_column(String(32), nullable=True)
    hotline: Mapped[str | None] = mapped_column(String(16), nullable=True)
    channel: Mapped[str | None] = mapped_column(String(32), nullable=True)
    unit: Mapped[str | None] = mapped_column(String(64), nullable=True)
    category: Mapped[str | None] = mapped_column(String(32), nullable=True)
    cases: Mapped[int] = mapped_column(Integer)
    direct: Mapped[int] = mapped_column(Integer)
    finished: Mapped[int] = mapped_column(Integer)
    on_time: Mapped[int] = mapped_column(Integer)
    rated: Mapped[int] = mapped_column(Integer)
    satisfied: Mapped[int] = mapped_column(Integer)
    dispatched: Mapped[int] = mapped_column(Integer)
    returned: Mapped[int] = mapped_column(Integer)
    extended: Mapped[int] = mapped_column(Integer)
    repeat: Mapped[int] = mapped_column(Integer)


class RollupDay(Base):
    """A local day whose rollup rows are built (only days before today)."""

    __tablename__ = "report_rollup_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RollupDirty(Base):
    """Written by database triggers in the same transaction as any write to calls, cases or a case's
    'return' event: the instant (the call's arrival, the case's acceptance) whose local day, and the
    ``span_days`` days after it, no longer match the rollup. Consumed by the rebuild."""

    __tablename__ = "report_dirty"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    span_days: Mapped[int] = mapped_column(Integer, default=0)
