from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query

from app.auth.deps import require_roles
from app.auth.models import Role, User
from app.auth.service import sees_platform
from app.bounds import Offset
from app.calls import service
from app.calls.schemas import CallList, CallOut
from app.deps import SessionDep

router = APIRouter(prefix="/api/calls", tags=["calls"])
Staff = Annotated[User, Depends(require_roles(Role.agent, Role.supervisor, Role.admin))]


def _platform_scope(user: User) -> set[str] | None:
    return None if sees_platform(user, None) else {user.platform}


@router.get("", response_model=CallList)
async def list_calls(
    session: SessionDep,
    user: Staff,
    caller: str | None = None,
    outcome: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
    hotline: Annotated[str | None, Query(max_length=16, description="source hotline, e.g. 12315")] = None,
) -> CallList:
    rows, total = await service.list_calls(
        session, platforms=_platform_scope(user), caller=caller, outcome=outcome, limit=limit, offset=offset,
        hotline=hotline,
    )
    return CallList(items=[CallOut.model_validate(r) for r in rows], total=total)


@router.get("/{uniqueid}", response_model=CallOut)
async def get_call(uniqueid: str, session: SessionDep, user: Staff) -> CallOut:
    call = await service.get_call(session, uniqueid)
    if call is None or not sees_platform(user, call.platform):
        raise HTTPException(404, f"没有通话 {uniqueid}")
    return CallOut.model_validate(call)
