"""Voicemail rows and the durable transcription queue. No commits here: the boundary (the AGI port,
the job store, HTTP route, CLI) commits, then publishes the events returned.

Life of a message: ``store_voicemail`` writes the recording row, the case (status intake, summary
"语音留言（转写中）") and a pending job in ONE transaction; a worker ``claim``s the job with a lease,
``heartbeat``s while the engine runs and ``finish``es it with a compare-and-set on (owner, attempt),
so a worker that lost its lease (killed, stalled) can never write a second transcript.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import User
from app.cases.context import CaseContext
from app.cases.models import Case
from app.cases.schemas import CaseCreate
from app.cases.service import attach_transcript, create_case
from app.db import utcnow
from app.events import Event
from app.settings import Settings
from app.voicemail.models import DONE, EMPTY, FAILED, FINAL, PENDING, RUNNING, Recording, TranscriptEdit
from app.voicemail.models import TranscriptionJob as Job
from recordings import storage
from recordings.stt.base import Transcript
from recordings.worker import NO_MODEL

MAX_ATTEMPTS = 3
SUMMARY_PENDING = "语音留言（转写中）"
SUMMARY_NO_MODEL = "语音留言（待转写：未配置语音识别模型）"
SUMMARY_EMPTY = "语音留言：空白留言"
SUMMARY_FAILED = "语音留言：录音无法识别（文件损坏或为空）"
SUMMARY_PREFIX = "语音留言："


def recording_path(settings: Settings, uniqueid: str, now: datetime | None = None) -> Path:
    """<recordings_dir>/YYYY/MM/DD/<uniqueid>-<random>.wav (absolute: Asterisk writes, we read)."""
    return storage.recording_path(settings.recordings_dir, uniqueid, now or utcnow())


def _first_sentence(text: str, limit: int = 60) -> str:
    first = re.split(r"(?<=[。！？!?；;])", text.strip(), maxsplit=1)[0].strip()
    return first if len(first) <= limit else first[: limit - 1] + "…"


def _detail(rec: Recording, text: str) -> str:
    length = f"{rec.duration_s:.1f} 秒" if rec.duration_s is not None else "未知"
    return f"{text}\n\n（语音留言自动转写：录音 #{rec.id}，时长 {length}，来电 {rec.caller or '未知号码'}）"


async def store_voicemail(
    session: AsyncSession,
    *,
    path: Path,
    caller: str | None,
    platform: str,
    prefecture: str | None,
    mailbox: str | None,
    call_uniqueid: str | None,
    source: str = "agi",
    no_model: str | None = None,
    ctx: CaseContext | None = None,
    now: datetime | None = None,
) -> tuple[Recording, Case]:
    """Recording row + case (channel voicemail, intake) + pending job, in the caller's transaction."""
    now = now or utcnow()
    sha, size, duration, rate = await asyncio.to_thread(storage.file_facts, path)
    rec = Recording(
        path=str(path), sha256=sha, size_bytes=size, duration_s=duration,
        sample_rate=rate, caller=caller or None, platform=platform, prefecture=prefecture, mailbox=mailbox,
        call_uniqueid=call_uniqueid, source=source, transcript_status=PENDING, transcript_note=no_model[:255] if no_model else None,
        created_at=now,
    )  # fmt: skip
    session.add(rec)
    await session.flush()
    summary = SUMMARY_NO_MODEL if no_model else SUMMARY_PENDING
    detail = f"来电 {caller or '未知号码'} 的语音留言（录音 #{rec.id}），" + (
        "尚未转写：未配置语音识别模型。" if no_model else "正在转写。"
    )
    case = await create_case(
        session,
        CaseCreate(channel="voicemail", type="help", summary=summary, detail=detail, citizen_phone=caller or None,
                   platform=platform, prefecture=prefecture, call_uniqueid=call_uniqueid),
        None, now=now, ctx=ctx,
    )  # fmt: skip
    rec.case_id = case.id
    session.add(Job(recording_id=rec.id, status=PENDING, attempts=0, created_at=now, updated_at=now))
    await session.flush()
    return rec, case


async def claim(
    session: AsyncSession, owner: str, lease_s: float, now: datetime | None = None,
    events: list[Event] | None = None,
) -> Job | None:  # fmt: skip
    """Take the oldest pending job, or one whose lease expired (its worker died), with a new lease.
    PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: the transaction already holds the write lock
    (BEGIN IMMEDIATE). Either way the conditional UPDATE below is the real guard."""
    now = now or utcnow()
    claimable = or_(Job.status == PENDING, (Job.status == RUNNING) & (Job.lease_until < now))
    while True:
        q = select(Job).where(claimable).order_by(Job.id).limit(1)
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        job = await session.scalar(q)
        if job is None:
            return None
        if job.status == RUNNING and job.attempts >= MAX_ATTEMPTS:
            # a file that kills its worker every time must not block the queue
            await _set_final(session, job, job.attempts, FAILED, None,
                             f"worker stopped {job.attempts} times while transcribing", now, events)  # fmt: skip
            continue
        res = await session.execute(
            update(Job)
            .where(Job.id == job.id, Job.attempts == job.attempts, claimable)
            .values(status=RUNNING, attempts=job.attempts + 1, lease_owner=owner,
                    lease_until=now + timedelta(seconds=lease_s), heartbeat_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        if res.rowcount == 1:  # type: ignore[attr-defined]
            await session.refresh(job)
            rec = await session.get(Recording, job.recording_id)
            if rec is not None:
                rec.transcript_status = RUNNING
            await session.flush()
            return job


async def heartbeat(session: AsyncSession, job_id: int, owner: str, attempt: int, lease_s: float) -> bool:
    now = utcnow()
    res = await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.lease_owner == owner, Job.attempts == attempt, Job.status == RUNNING)
        .values(lease_until=now + timedelta(seconds=lease_s), heartbeat_at=now)
    )
    return res.rowcount == 1  # type: ignore[attr-defined,no-any-return]


async def _set_final(
    session: AsyncSession,
    job: Job,
    attempt: int,
    status: str,
    tr: Transcript | None,
    error: str | None,
    now: datetime,
    events: list[Event] | None = None,
) -> bool:
    """Compare-and-set the job to a final status; only then write the recording and (through the cases
    service: audit row, event appended to ``events``) the case."""
    res = await session.execute(
        update(Job)
        .where(Job.id == job.id, Job.attempts == attempt, Job.status == RUNNING)
        .values(status=status, last_error=error, lease_owner=None, lease_until=None, updated_at=now, finished_at=now)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    if res.rowcount != 1:  # type: ignore[attr-defined]
        return False
    rec = await session.get(Recording, job.recording_id)
    if rec is None:
        return True
    text = (tr.text if tr is not None else "").strip()
    rec.transcript_status, rec.transcribed_at = status, now
    rec.transcript_note = error[:255] if error else error
    if tr is not None:
        rec.engine, rec.model = tr.engine, tr.model[:128]
        if rec.sample_rate is None:
            rec.sample_rate = tr.sample_rate
    if status == DONE:
        rec.transcript = text
        summary, detail = SUMMARY_PREFIX + _first_sentence(text), _detail(rec, text)
    elif status == EMPTY:
        rec.transcript = ""
        summary = SUMMARY_EMPTY
        detail = f"空白留言：录音 #{rec.id} 中没有可识别的语音（来电 {rec.caller or '未知号码'}）。"
    else:
        summary = SUMMARY_FAILED
        detail = f"录音 #{rec.id} 无法转写：{error or '未知错误'}。录音文件已保留，可在留言箱中收听。"
    case = await session.get(Case, rec.case_id) if rec.case_id is not None else None
    if case is not None:
        out = await attach_transcript(session, case, text=detail, summary=summary)
        if events is not None:
            events.extend(out)
    await session.flush()
    return True


async def finish(
    session: AsyncSession,
    job: Job,
    attempt: int,
    tr: Transcript | None,
    error: str | None = None,
    events: list[Event] | None = None,
) -> bool:
    """Write the outcome of one attempt; False when this worker no longer holds the job. The case's
    events (to publish after commit) are appended to ``events``."""
    if tr is None:
        status = FAILED
    elif tr.text.strip():
        status = DONE
    else:
        status = EMPTY
    return await _set_final(session, job, attempt, status, tr, error, utcnow(), events)


async def release(
    session: AsyncSession, job: Job, attempt: int, error: str, *, count_attempt: bool,
    events: list[Event] | None = None,
) -> None:  # fmt: skip
    """Give the job back (engine unavailable, unexpected error). After MAX_ATTEMPTS it fails."""
    now = utcnow()
    if count_attempt and attempt >= MAX_ATTEMPTS:
        await _set_final(session, job, attempt, FAILED, None, error[:2000], now, events)
        return
    res = await session.execute(
        update(Job)
        .where(Job.id == job.id, Job.attempts == attempt, Job.status == RUNNING)
        .values(status=PENDING, last_error=error[:2000], lease_owner=None, lease_until=None, updated_at=now,
                attempts=attempt if count_attempt else attempt - 1)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    if res.rowcount == 1:  # type: ignore[attr-defined]
        rec = await session.get(Recording, job.recording_id)
        if rec is not None:
            rec.transcript_status, rec.transcript_note = PENDING, error[:255]


async def requeue(session: AsyncSession, *, failed: bool = True) -> int:
    """Make failed (and empty) jobs pending again with fresh attempts; returns the number of jobs to run."""
    if failed:
        await session.execute(
            update(Job).where(Job.status.in_((FAILED, EMPTY)))
            .values(status=PENDING, attempts=0, last_error=None, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )  # fmt: skip
    n = await session.scalar(select(func.count()).select_from(Job).where(Job.status.in_((PENDING, RUNNING))))
    return int(n or 0)


async def counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(Job.status, func.count()).group_by(Job.status))
    return {str(s): int(n) for s, n in rows.all()}


async def mark_waiting_for_model(session: AsyncSession, reason: str) -> None:
    """Pending recordings say why they wait (shown in the inbox)."""
    await session.execute(
        update(Recording).where(Recording.transcript_status == PENDING).values(transcript_note=reason[:255])
        .execution_options(synchronize_session=False)
    )  # fmt: skip


async def save_correction(
    session: AsyncSession, rec: Recording, text: str, user: User
) -> tuple[TranscriptEdit, list[Event]]:
    """An agent's correction: audit row (before/after), the recording, and (through the cases service)
    the case text; returns the edit and the case's events to publish after commit."""
    now = utcnow()
    edit = TranscriptEdit(recording_id=rec.id, at=now, user_id=user.id, username=user.username,
                          old_text=rec.transcript, new_text=text)  # fmt: skip
    session.add(edit)
    rec.transcript, rec.edited_by = text, user.username
    if rec.transcript_status in (PENDING, FAILED, EMPTY) and text.strip():
        rec.transcript_status = DONE
    events: list[Event] = []
    case = await session.get(Case, rec.case_id) if rec.case_id is not None else None
    if case is not None and text.strip():
        events = await attach_transcript(session, case, text=_detail(rec, text.strip()),
                                         summary=SUMMARY_PREFIX + _first_sentence(text), actor=user.username)  # fmt: skip
    await session.flush()
    return edit, events


async def purge(
    session: AsyncSession, days: int, *, dry_run: bool, now: datetime | None = None
) -> list[Recording]:
    """Recordings older than ``days``: counted (dry run) or their files deleted and marked purged.
    Rows, transcripts and cases stay: only the audio goes."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    rows = list(await session.scalars(
        select(Recording).where(Recording.created_at < cutoff, Recording.purged_at.is_(None)).order_by(Recording.id)
    ))  # fmt: skip
    if not dry_run:
        for rec in rows:
            await asyncio.to_thread(Path(rec.path).unlink, missing_ok=True)
            rec.purged_at = utcnow()
        await session.flush()
    return rows


def job_out(job: Job | None) -> dict[str, Any] | None:
    if job is None:
        return None
    return {"status": job.status, "attempts": job.attempts, "last_error": job.last_error}


__all__ = ["DONE", "EMPTY", "FAILED", "FINAL", "NO_MODEL", "PENDING", "RUNNING"]
