"""Call recordings' rows. No commits here (the component and the router are the boundaries)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.callrec.models import CallRecording
from app.calls.models import Call
from app.db import utcnow
from recordings import calls as rc

LABELS = {rc.OK: "已录音", rc.FAILED: "录音失败", rc.PURGED: "已过保存期删除"}


async def attach(
    session: AsyncSession, call: Call, server: str, path: Path, facts: rc.Facts
) -> CallRecording:
    """The file's facts on the call's recording row (created on the call's first completion)."""
    row = await session.scalar(select(CallRecording).where(CallRecording.call_id == call.id))
    if row is None:
        row = CallRecording(call_id=call.id, uniqueid=call.uniqueid, server=server, created_at=utcnow())
        session.add(row)
    row.path, row.status, row.bytes, row.seconds = str(path), facts.status, facts.bytes, facts.seconds
    row.detail = facts.detail or None
    row.checked_at = utcnow()
    await session.flush()
    return row


def view(call: Call, rec: CallRecording | None) -> dict[str, Any]:
    status = rec.status if rec else None
    return {
        "uniqueid": call.uniqueid,
        "platform": call.platform,
        "queue": call.queue,
        "agent": call.agent,
        "caller": call.caller,
        "answered_at": call.answered_at.isoformat() if call.answered_at else None,
        "talk_s": call.talk_s,
        "recording_status": status,
        "recording_label": LABELS.get(status or "", "无录音记录"),
        "recording_bytes": rec.bytes if rec else None,
        "recording_s": rec.seconds if rec else None,
        "recording_detail": rec.detail if rec else None,
        "playable": status == rc.OK,
    }


async def for_call(session: AsyncSession, uniqueid: str) -> tuple[Call, CallRecording | None] | None:
    call = await session.scalar(select(Call).where(Call.uniqueid == uniqueid))
    if call is None:
        return None
    rec = await session.scalar(select(CallRecording).where(CallRecording.call_id == call.id))
    return call, rec


async def listing(
    session: AsyncSession,
    *,
    platforms: set[str] | None,
    agent: str | None = None,
    status: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Recent answered calls with their recording (or its absence), newest first."""
    q = (
        select(Call, CallRecording)
        .outerjoin(CallRecording, CallRecording.call_id == Call.id)
        .where(Call.answered_at.is_not(None))
    )
    if platforms is not None:
        q = q.where(Call.platform.in_(platforms))
    if agent is not None:
        q = q.where(Call.agent == agent)
    if status is not None:
        q = q.where(CallRecording.status == status)
    rows = await session.execute(q.order_by(Call.answered_at.desc(), Call.id.desc()).limit(limit))
    return [view(c, r) for c, r in rows.all()]


async def failed_since(session: AsyncSession, since: datetime) -> int:
    q = select(func.count()).select_from(CallRecording)
    q = q.where(CallRecording.status == rc.FAILED, CallRecording.checked_at >= since)
    return int(await session.scalar(q) or 0)


async def due_for_purge(
    session: AsyncSession, now: datetime, retention_days: int, limit: int = 500
) -> list[CallRecording]:
    if retention_days <= 0:
        return []
    rows = await session.scalars(
        select(CallRecording)
        .where(CallRecording.status.in_((rc.OK, rc.FAILED)))
        .where(CallRecording.created_at < now - timedelta(days=retention_days))
        .order_by(CallRecording.created_at)
        .limit(limit)
    )
    return [r for r in rows if rc.expired(r.created_at, now, retention_days)]


def mark_purged(row: CallRecording, now: datetime) -> None:
    row.status, row.purged_at, row.bytes = rc.PURGED, now, 0


async def never_checked(
    session: AsyncSession, *, servers: set[str], ended_before: datetime, answered_since: datetime, limit: int = 200
) -> list[Call]:
    """Answered inbound queue calls of these servers, ended before ``ended_before`` and answered since
    ``answered_since``, that have no recording row: no backend checked their file after the call
    (none consumed that server's AMI events when it ended). Oldest first."""
    if not servers:
        return []
    q = (
        select(Call)
        .outerjoin(CallRecording, CallRecording.call_id == Call.id)
        .where(CallRecording.id.is_(None))
        .where(Call.server.in_(servers), Call.direction == "in", Call.queue.is_not(None))
        .where(Call.answered_at.is_not(None), Call.answered_at >= answered_since)
        .where(Call.ended_at.is_not(None), Call.ended_at < ended_before)
        .order_by(Call.ended_at, Call.id)
        .limit(limit)
    )
    return list(await session.scalars(q))
