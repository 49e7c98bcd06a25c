"""Satisfaction call-backs (回访): one survey per case, one row per call attempt, and the agents'
manual call-back list (missed calls, voicemails, surveys handed over after failed tries)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow

# survey status
SCHEDULED = "scheduled"  # waiting for next_at
CALLING = "calling"  # claimed: an attempt is in flight until lease_until
DONE = "done"  # rated
HANDED_OVER = "handed_over"  # every try failed: on the agents' call-back list
CANCELLED = "cancelled"  # the case no longer waits for a rating (rated by hand, closed…)

# attempt outcomes
DIALING = "dialing"
ANSWERED = "answered"
RATED = "rated"
NO_ANSWER = "no_answer"
BUSY = "busy"
NO_DIGIT = "no_digit"
INVALID = "invalid"
FAILED = "failed"  # Asterisk refused, or nothing came back within the lease
IN_FLIGHT = (DIALING, ANSWERED)

OUTCOME_LABELS = {
    DIALING: "呼叫中",
    ANSWERED: "已接听",
    RATED: "已评价",
    NO_ANSWER: "无人接听",
    BUSY: "忙线",
    NO_DIGIT: "未按键",
    INVALID: "按键无效",
    FAILED: "呼叫失败",
}

SURVEY_PREFIX = "hl-out-svy-"  # ChannelId of survey calls (hl-out-: every leg's events are outbound)


class Survey(Base):
    __tablename__ = "surveys"
    __table_args__ = (Index("ix_surveys_status_next", "status", "next_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    case_number: Mapped[str] = mapped_column(String(32))
    platform: Mapped[str] = mapped_column(String(32), index=True)
    phone: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=SCHEDULED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    channel_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the attempt in flight
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    detail: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SurveyAttempt(Base):
    __tablename__ = "survey_attempts"
    __table_args__ = (Index("ix_survey_attempts_live", "outcome", "platform"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    n: Mapped[int] = mapped_column(Integer)  # 1, 2, 3 …
    channel_id: Mapped[str] = mapped_column(String(64), unique=True)
    platform: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16), default=DIALING)
    digits: Mapped[str | None] = mapped_column(String(16), nullable=True)  # every digit pressed
    detail: Mapped[str | None] = mapped_column(String(255), nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


# call-back task kinds and outcomes
MISSED, VOICEMAIL, SURVEY = "missed", "voicemail", "survey"
KIND_LABELS = {MISSED: "未接来电", VOICEMAIL: "留言", SURVEY: "回访未成功"}
CB_OUTCOMES = {"reached": "已联系上", "no_answer": "无人接听", "wrong_number": "号码错误"}


class CallbackTask(Base):
    """One entry of the agents' call-back list. Dialling it reuses the wallboard's call-back rows
    (app.callbacks.models.Callback, followed through AMI); the agent then records the outcome here."""

    __tablename__ = "callback_tasks"
    __table_args__ = (
        UniqueConstraint("kind", "ref", name="uq_callback_tasks_kind_ref"),
        Index("ix_callback_tasks_open", "status", "platform"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # missed | voicemail | survey
    ref: Mapped[str] = mapped_column(String(64))  # the call's uniqueid, or the survey id
    number: Mapped[str] = mapped_column(String(32))
    platform: Mapped[str | None] = mapped_column(String(32), nullable=True)
    case_number: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | done
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    note: Mapped[str | None] = mapped_column(String(255), nullable=True)
    agent: Mapped[str | None] = mapped_column(String(64), nullable=True)
    channel_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # last call placed
    dials: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
