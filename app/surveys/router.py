"""Surveys (回访) and the agents' call-back list: /api/surveys, /api/callbacks, the page /ui/callbacks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from app.auth.deps import require_roles
from app.auth.models import Role, User
from app.auth.service import sees_platform
from app.bounds import IdPath
from app.callbacks import component as callback_calls
from app.callbacks import service as callback_service
from app.db import utcnow
from app.deps import SessionDep, WriteSessionDep
from app.masking import mask_number
from app.surveys import callbacks
from app.surveys import models as m
from app.surveys.models import Survey, SurveyAttempt
from app.surveys.rules import rules_of
from app.web.router import page

router = APIRouter(tags=["surveys"])
Office = Annotated[User, Depends(require_roles(Role.agent, Role.supervisor, Role.admin))]
HERE = Path(__file__).resolve().parent


class OutcomeIn(BaseModel):
    outcome: str = Field(max_length=16, description="reached | no_answer | wrong_number")
    note: str | None = Field(default=None, max_length=255)


def _survey_out(s: Survey, attempts: list[SurveyAttempt]) -> dict[str, Any]:
    return {
        "id": s.id,
        "case_number": s.case_number,
        "platform": s.platform,
        "phone": mask_number(s.phone),
        "status": s.status,
        "attempts": s.attempts,
        "next_at": s.next_at.isoformat() if s.next_at else None,
        "rating": s.rating,
        "detail": s.detail,
        "calls": [
            {
                "n": a.n,
                "outcome": a.outcome,
                "outcome_label": m.OUTCOME_LABELS.get(a.outcome, a.outcome),
                "digits": a.digits,
                "detail": a.detail,
                "started_at": a.started_at.isoformat(),
                "ended_at": a.ended_at.isoformat() if a.ended_at else None,
            }
            for a in attempts
        ],
    }


@router.get("/api/surveys")
async def list_surveys(
    user: Office, session: SessionDep, case: str | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    q = select(Survey).order_by(Survey.id.desc()).limit(200)
    if case:
        q = q.where(Survey.case_number == case)
    if status:
        q = q.where(Survey.status == status)
    surveys = [s for s in await session.scalars(q) if sees_platform(user, s.platform)]
    by: dict[int, list[SurveyAttempt]] = {s.id: [] for s in surveys}
    if by:
        for a in await session.scalars(
            select(SurveyAttempt).where(SurveyAttempt.survey_id.in_(by)).order_by(SurveyAttempt.n)
        ):
            by[a.survey_id].append(a)
    return [_survey_out(s, by[s.id]) for s in surveys]


@router.get("/api/callbacks")
async def list_callbacks(
    request: Request, user: Office, session: WriteSessionDep, include_done: bool = False
) -> list[dict[str, Any]]:
    rules = rules_of(request.app.state.runtime)
    if await callbacks.sync_missed(session, utcnow(), rules.callback_lookback_days):
        await session.commit()
    return await callbacks.list_tasks(session, user, include_done=include_done)


@router.post("/api/callbacks/{task_id}/dial", status_code=202)
async def dial(task_id: IdPath, request: Request, user: Office, session: SessionDep) -> dict[str, Any]:
    rt = request.app.state.runtime
    try:
        cb, conn = await callbacks.dial(rt, session, user, task_id, rules_of(rt))
    except callbacks.CallbackError as e:
        raise HTTPException(e.status, str(e)) from e
    await session.commit()  # the AMI events that follow must find the row
    await callback_calls.start(rt, cb, conn)
    return callback_service.callback_out(cb)


@router.post("/api/callbacks/{task_id}/outcome")
async def outcome(task_id: IdPath, data: OutcomeIn, user: Office, session: SessionDep) -> dict[str, Any]:
    try:
        t = await callbacks.record_outcome(session, user, task_id, data.outcome, data.note, utcnow())
    except callbacks.CallbackError as e:
        raise HTTPException(e.status, str(e)) from e
    await session.commit()
    return callbacks.task_out(t, None)


@router.get("/ui/callbacks", include_in_schema=False)
async def callbacks_page() -> FileResponse:
    return page(HERE / "templates" / "callbacks.html")
