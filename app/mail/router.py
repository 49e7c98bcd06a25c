"""Refused citizens' mail for the administrator: what was refused, from where (masked), and why."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel
from sqlalchemy import select

from app.auth.deps import require_roles
from app.auth.models import Role, User
from app.deps import SessionDep
from app.mail.models import RefusedMail
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

    model_config = {"from_attributes": True}


@router.get("/api/mail/refused", response_model=list[RefusedOut])
async def refused(
    session: SessionDep,
    user: Admin,
    platform: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[RefusedOut]:
    q = select(RefusedMail)
    if platform:
        q = q.where(RefusedMail.platform == platform)
    rows = await session.scalars(q.order_by(RefusedMail.id.desc()).limit(limit))
    return [RefusedOut.model_validate(r) for r in rows]


@router.get("/ui/mail", include_in_schema=False)
async def mail_page() -> FileResponse:
    return page(HERE / "templates" / "mail.html")
