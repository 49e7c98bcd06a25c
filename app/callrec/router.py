"""Call recordings over HTTP: the file of one call (streamed to a supervisor of its platform or to
the agent who took it; the session cookie or header authenticates, nothing secret in the URL), the
list of recent recordings (failures included) and the supervisors' 录音 page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import FileResponse

from app.auth.deps import require_roles
from app.auth.models import Role, User
from app.auth.service import sees_platform
from app.callrec import service
from app.calls.models import Call
from app.deps import SessionDep
from app.web.router import page
from recordings import calls as rc

router = APIRouter(tags=["recordings"])
Listener = Annotated[User, Depends(require_roles(Role.agent, Role.supervisor))]
Supervisor = Annotated[User, Depends(require_roles(Role.supervisor))]
HERE = Path(__file__).resolve().parent


def may_hear(user: User, call: Call) -> bool:
    """A supervisor: calls of the platforms they oversee (every platform for the province's); an
    agent: the calls they answered themselves."""
    if user.role is Role.supervisor:
        return sees_platform(user, call.platform)
    return user.role is Role.agent and bool(call.agent) and call.agent == user.username


async def _call(session: Any, user: User, uniqueid: str) -> tuple[Call, Any]:
    found = await service.for_call(session, uniqueid)
    if found is None or not may_hear(user, found[0]):
        raise HTTPException(404, f"没有这通来电 {uniqueid}")  # another's call does not exist for them
    return found


@router.get("/api/calls/{uniqueid}/recording/info")
async def recording_info(uniqueid: str, session: SessionDep, user: Listener) -> dict[str, Any]:
    call, rec = await _call(session, user, uniqueid)
    return service.view(call, rec)


@router.get("/api/calls/{uniqueid}/recording")
async def recording_file(uniqueid: str, session: SessionDep, user: Listener) -> FileResponse:
    call, rec = await _call(session, user, uniqueid)
    if rec is None or rec.status != rc.OK:
        raise HTTPException(404, service.LABELS.get(rec.status if rec else "", "这通来电没有录音"))
    path = Path(rec.path)
    if not rc.present(path):
        raise HTTPException(410, "录音文件已不在磁盘上")
    return FileResponse(
        path, media_type="audio/wav", filename=f"{call.uniqueid}.wav",
        headers={"Cache-Control": "private, no-store"},
    )  # fmt: skip


@router.get("/api/recordings")
async def list_recordings(
    session: SessionDep,
    user: Listener,
    status: Annotated[str | None, Query(pattern="^(ok|failed|purged)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """Supervisors: their platform's answered calls with their recordings; agents: their own."""
    if user.role is Role.agent:
        return await service.listing(session, platforms=None, agent=user.username, status=status, limit=limit)
    platforms = None if sees_platform(user, None) else {user.platform}
    return await service.listing(session, platforms=platforms, status=status, limit=limit)


@router.get("/ui/recordings", include_in_schema=False)
async def recordings_page() -> FileResponse:
    return page(HERE / "templates" / "recordings.html")
