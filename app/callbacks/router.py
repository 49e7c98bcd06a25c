"""回拨 of an abandoned call from the wallboard (supervisors): POST /api/stats/abandoned/{uniqueid}/callback.
The boundary: commits the row before the Originate."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel

from app.auth.deps import require_roles
from app.auth.models import Role, User
from app.callbacks import component, service
from app.deps import SessionDep

router = APIRouter(tags=["callbacks"])
Supervisor = Annotated[User, Depends(require_roles(Role.supervisor, Role.admin))]


class CallbackIn(BaseModel):
    agent: str | None = None


@router.post("/api/stats/abandoned/{uniqueid}/callback", status_code=202)
async def call_back(
    uniqueid: str, request: Request, user: Supervisor, session: SessionDep, data: CallbackIn | None = None
) -> dict[str, Any]:
    rt = request.app.state.runtime
    try:
        cb, conn = await service.for_call(rt, session, user, uniqueid, data.agent if data else None)
    except service.CallbackError as e:
        raise HTTPException(e.status, str(e)) from e
    await session.commit()  # the AMI events that follow must find it
    await component.start(rt, cb, conn)
    return service.callback_out(cb)
