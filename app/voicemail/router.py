"""Voicemail inbox for agents and supervisors: list, audio, transcript correction (audited), call-back.

Audio and transcripts are citizens' personal data: only agents and supervisors see them, and only
for their own platform (province-level users see all). Anything else gets 403 (wrong role) or 404
(another platform's recording: its existence is not disclosed)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import require_roles
from app.auth.models import Role, User
from app.auth.service import sees_platform
from app.bounds import IdPath
from app.callbacks import component as callback_calls
from app.callbacks import service as callbacks
from app.cases.models import Case
from app.deps import HubDep, SessionDep
from app.events import commit_and_publish
from app.telephony.lifecycle import TELEPHONY
from app.voicemail import service
from app.voicemail.models import Recording, TranscriptEdit, TranscriptionJob
from app.web.router import page

TEMPLATES = Path(__file__).resolve().parent / "templates"
router = APIRouter(tags=["voicemail"])
Staff = Annotated[User, Depends(require_roles(Role.agent, Role.supervisor))]

STATUS_LABELS = {
    "pending": "待转写",
    "running": "转写中",
    "done": "已转写",
    "empty": "空白留言",
    "failed": "无法转写",
}


class TranscriptIn(BaseModel):
    text: str = Field(min_length=1, max_length=20000)


def _out(rec: Recording, case: Case | None, job: TranscriptionJob | None) -> dict[str, Any]:
    return {
        "id": rec.id,
        "audio_url": f"/api/recordings/{rec.id}/audio" if rec.purged_at is None else None,
        "caller": rec.caller,
        "platform": rec.platform,
        "prefecture": rec.prefecture,
        "duration_s": rec.duration_s,
        "sample_rate": rec.sample_rate,
        "created_at": rec.created_at.isoformat(),
        "transcribed_at": rec.transcribed_at.isoformat() if rec.transcribed_at else None,
        "transcript": rec.transcript,
        "transcript_status": rec.transcript_status,
        "status_label": STATUS_LABELS.get(rec.transcript_status, rec.transcript_status),
        "transcript_note": rec.transcript_note,
        "edited_by": rec.edited_by,
        "engine": rec.engine,
        "call_uniqueid": rec.call_uniqueid,
        "case": None
        if case is None
        else {"number": case.number, "status": case.status, "summary": case.summary},
        "job": service.job_out(job),
    }


async def _visible(session: AsyncSession, rec_id: int, user: User) -> Recording:
    rec = await session.get(Recording, rec_id)
    if rec is None or not sees_platform(user, rec.platform):
        raise HTTPException(404, f"没有这条留言 {rec_id}")
    return rec


async def _rows(session: AsyncSession, q: Any) -> list[dict[str, Any]]:
    rows = (await session.execute(
        q.outerjoin(Case, Case.id == Recording.case_id)
        .outerjoin(TranscriptionJob, TranscriptionJob.recording_id == Recording.id)
    )).all()  # fmt: skip
    return [_out(r, c, j) for r, c, j in rows]


@router.get("/api/voicemail")
async def inbox(
    session: SessionDep,
    user: Staff,
    status: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    q = select(Recording, Case, TranscriptionJob).order_by(Recording.created_at.desc()).limit(limit)
    if not sees_platform(user, None):
        q = q.where(Recording.platform == user.platform)
    if status:
        q = q.where(Recording.transcript_status.in_(status.split(",")))
    return await _rows(session, q)


@router.get("/api/recordings/{rec_id}")
async def get_recording(rec_id: IdPath, session: SessionDep, user: Staff) -> dict[str, Any]:
    rec = await _visible(session, rec_id, user)
    return (await _rows(session, select(Recording, Case, TranscriptionJob).where(Recording.id == rec.id)))[0]


@router.get("/api/recordings/{rec_id}/audio")
async def audio(rec_id: IdPath, session: SessionDep, user: Staff) -> FileResponse:
    rec = await _visible(session, rec_id, user)
    path = Path(rec.path)
    if rec.purged_at is not None or not await asyncio.to_thread(path.is_file):
        raise HTTPException(410, "录音文件已按保存期限删除")
    return FileResponse(
        path,
        media_type="audio/wav",
        filename=f"voicemail-{rec.id}.wav",
        content_disposition_type="inline",
        headers={"Cache-Control": "private, no-store"},
    )


@router.put("/api/recordings/{rec_id}/transcript")
async def correct(
    rec_id: IdPath, body: TranscriptIn, session: SessionDep, hub: HubDep, user: Staff
) -> dict[str, Any]:
    rec = await _visible(session, rec_id, user)
    _, events = await service.save_correction(session, rec, body.text.strip(), user)
    await commit_and_publish(session, hub, events)
    return await get_recording(rec_id, session, user)


@router.get("/api/recordings/{rec_id}/edits")
async def edits(rec_id: IdPath, session: SessionDep, user: Staff) -> list[dict[str, Any]]:
    rec = await _visible(session, rec_id, user)
    rows = await session.scalars(select(TranscriptEdit).where(TranscriptEdit.recording_id == rec.id)
                                 .order_by(TranscriptEdit.id))  # fmt: skip
    return [{"at": e.at.isoformat(), "username": e.username, "old_text": e.old_text, "new_text": e.new_text}
            for e in rows]  # fmt: skip


@router.post("/api/recordings/{rec_id}/callback", status_code=202)
async def call_back(rec_id: IdPath, request: Request, session: SessionDep, user: Staff) -> dict[str, Any]:
    """回拨: the same call-back Originate as the abandoned-call list (the agent's own phone first)."""
    rec = await _visible(session, rec_id, user)
    if not rec.call_uniqueid:
        raise HTTPException(409, "这条留言没有关联来电，无法回拨")
    rt = request.app.state.runtime
    if rt.get(TELEPHONY) is None:
        raise HTTPException(503, "电话系统未连接")
    wanted = user.username if user.role is Role.agent and user.sip_endpoint else None
    try:
        cb, conn = await callbacks.for_call(rt, session, user, rec.call_uniqueid, wanted)
    except callbacks.CallbackError as e:
        raise HTTPException(e.status, str(e)) from e
    await session.commit()  # the AMI events that follow must find it
    await callback_calls.start(rt, cb, conn)
    return callbacks.callback_out(cb)


@router.get("/ui/voicemail", include_in_schema=False)
async def voicemail_page() -> FileResponse:
    return page(TEMPLATES / "voicemail.html")
