"""Outbox inspection for the hotline office (what was sent, what is stuck)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from app.auth.deps import require_roles
from app.auth.models import Role, User
from app.bounds import IdQuery
from app.deps import SessionDep
from app.outbox.models import OutboxMessage
from app.outbox.schemas import OutboxOut

router = APIRouter(prefix="/api/outbox", tags=["outbox"])
Admin = Annotated[User, Depends(require_roles(Role.admin))]  # holds every platform's phones


@router.get("", response_model=list[OutboxOut])
async def list_outbox(
    session: SessionDep,
    user: Admin,
    status: Annotated[str | None, Query(max_length=16)] = None,
    case_id: IdQuery = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[OutboxOut]:
    q = select(OutboxMessage)
    if status:
        q = q.where(OutboxMessage.status == status)
    if case_id is not None:
        q = q.where(OutboxMessage.case_id == case_id)
    rows = await session.scalars(q.order_by(OutboxMessage.id.desc()).limit(limit))
    return [OutboxOut.model_validate(r) for r in rows]
