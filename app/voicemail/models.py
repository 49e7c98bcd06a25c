"""Voicemail recordings, their durable transcription jobs, and the audit of transcript corrections.

A recording row is written (file on disk, checksum, duration) in the same transaction as its case and
its job, BEFORE anything transcribes it. No foreign key to ``cases``: the case tables live on another
migration branch, so ``case_id`` is a plain indexed integer.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow

# transcript / job status values
PENDING = "pending"  # waiting for a worker (or for a model to be configured)
RUNNING = "running"  # a worker holds the lease
DONE = "done"  # transcript written to the recording and the case
EMPTY = "empty"  # no speech: 空白留言
FAILED = "failed"  # corrupt / unreadable audio, or retries exhausted
FINAL = (DONE, EMPTY, FAILED)


class Recording(Base):
    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(String(512), unique=True)  # absolute path on the shared disk
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)  # None: unreadable audio
    sample_rate: Mapped[int | None] = mapped_column(Integer, nullable=True)
    caller: Mapped[str | None] = mapped_column(String(64), nullable=True)
    platform: Mapped[str] = mapped_column(String(32), index=True)
    prefecture: Mapped[str | None] = mapped_column(String(32), nullable=True)
    mailbox: Mapped[str | None] = mapped_column(String(64), nullable=True)
    call_uniqueid: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    source: Mapped[str] = mapped_column(String(16), default="agi")  # agi | orphan
    case_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    transcript: Mapped[str | None] = mapped_column(Text, nullable=True)
    transcript_status: Mapped[str] = mapped_column(String(16), default=PENDING)
    transcript_note: Mapped[str | None] = mapped_column(String(255), nullable=True)  # why pending/failed
    engine: Mapped[str | None] = mapped_column(String(32), nullable=True)
    model: Mapped[str | None] = mapped_column(String(128), nullable=True)
    edited_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    transcribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # file removed


class TranscriptionJob(Base):
    """One durable job per recording. A worker claims it with a lease it keeps alive by heartbeat; a
    job whose lease expired (worker killed) is claimed again. Finishing is a compare-and-set on
    (id, lease_owner, attempts), so only the worker holding the current lease writes the transcript."""

    __tablename__ = "transcription_jobs"
    __table_args__ = (Index("ix_transcription_jobs_status_lease", "status", "lease_until"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class TranscriptEdit(Base):
    """Audit of a transcript correction by an agent (who, when, before, after)."""

    __tablename__ = "transcript_edits"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    username: Mapped[str] = mapped_column(String(64))
    old_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    new_text: Mapped[str] = mapped_column(Text)
