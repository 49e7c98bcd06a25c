"""Refused citizens' mail for the administrator: what was refused, from where (masked), and why; and
settling it (app.mail.review): taken in after all, or not, and why. The routes commit."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from app.auth.deps import require_roles
from app.auth.models import Role, User
from app.deps import SessionDep
from app.events import commit_and_publish
from app.mail import review
from app.mail.models import STATUS_LABELS, RefusedMail
from app.runtime import Runtime, get_runtime
from app.web.router import page

router = APIRouter(tags=["mail"])
HERE = Path(__file__).resolve().parent
Admin = Annotated[User, Depends(require_roles(Role.admin))]


class RefusedOut(BaseModel):
    id: int
    platform: str
    mailbox: str
    sender_masked: str
    subject: str
    reason: str
    size: int
    kept: str
    received_at: datetime
    status: str
    status_label: str = ""
    case_number: str | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    note: str | None = None

    model_config = {"from_attributes": True}


def _out(row: RefusedMail) -> RefusedOut:
    out = RefusedOut.model_validate(row)
    out.status_label = STATUS_LABELS.get(row.status, row.status)
    return out


class RetakeIn(BaseModel):
    note: str = Field(default="", max_length=500)


class DismissIn(BaseModel):
    note: str = Field(min_length=2, max_length=500, description="why it is not taken in (kept with the mail)")


@router.get("/api/mail/refused", response_model=list[RefusedOut])
async def refused(
    session: SessionDep,
    user: Admin,
    platform: Annotated[str | None, Query(max_length=32)] = None,
    status: Annotated[Literal["refused", "taken", "dismissed"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[RefusedOut]:
    q = select(RefusedMail)
    if platform:
        q = q.where(RefusedMail.platform == platform)
    if status:
        q = q.where(RefusedMail.status == status)
    rows = await session.scalars(q.order_by(RefusedMail.id.desc()).limit(limit))
    return [_out(r) for r in rows]


@router.post("/api/mail/refused/{row_id}/retake", response_model=RefusedOut)
async def retake(
    row_id: int, body: RetakeIn, session: SessionDep, user: Admin, rt: Annotated[Runtime, Depends(get_runtime)]
) -> RefusedOut:
    """Takes the kept message in after all: a case (or the case it replies to) with the citizen's
    acknowledgement; 409 when it is settled already or only its header was kept, 422 when it is
    still refused (the reason says why)."""
    try:
        row, got = await review.retake(session, rt, row_id, user, body.note)
    except review.ReviewError as e:
        raise HTTPException(e.status, str(e)) from None
    await commit_and_publish(session, rt.hub, got.events)
    return _out(row)


@router.post("/api/mail/refused/{row_id}/dismiss", response_model=RefusedOut)
async def dismiss(row_id: int, body: DismissIn, session: SessionDep, user: Admin) -> RefusedOut:
    """Not taken in, with the reason (kept with the mail)."""
    try:
        row = await review.dismiss(session, row_id, user, body.note)
    except review.ReviewError as e:
        raise HTTPException(e.status, str(e)) from None
    await session.commit()
    return _out(row)


@router.get("/ui/mail", include_in_schema=False)
async def mail_page() -> FileResponse:
    return page(HERE / "templates" / "mail.html")
