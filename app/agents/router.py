"""Agent desktop: REST under /api/agents, the WebSocket /ws/agent (only this agent's events), the page."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, WebSocket
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from app.agents import service
from app.agents.models import AgentSession
from app.agents.screenpop import _call_brief
from app.auth.deps import require_roles
from app.auth.models import Role, User
from app.auth.service import sees_platform
from app.calls.models import Call
from app.deps import SessionDep
from app.realtime import ws
from app.web.router import page

log = logging.getLogger(__name__)
router = APIRouter(tags=["agents"])
Agent = Annotated[User, Depends(require_roles(Role.agent))]
Supervisor = Annotated[User, Depends(require_roles(Role.supervisor, Role.admin))]
HERE = Path(__file__).resolve().parent


class LoginIn(BaseModel):
    queues: list[str] = Field(min_length=1, max_length=20)


class PauseIn(BaseModel):
    reason: str = Field(min_length=1, max_length=32)


def _rt(request: Request) -> Any:
    return request.app.state.runtime


def _view(request: Request, user: User) -> dict[str, Any]:
    rt = _rt(request)
    tel = rt.components.get("telephony")
    view: dict[str, Any] = service.agent_view(tel.state, user) if tel else {"state": "logged_out"}
    view["available_queues"] = service.platform_queues(rt, user.platform)
    view["pause_reasons"] = list(service.PAUSE_REASONS)
    view["wrapup_s"] = rt.settings.wrapup_s
    return view


async def _do(coro: Any) -> None:
    try:
        await coro
    except service.AgentError as e:
        raise HTTPException(e.status, str(e)) from e


@router.get("/api/agents/me")
async def me(request: Request, user: Agent, session: SessionDep) -> dict[str, Any]:
    view = _view(request, user)
    row = await session.get(AgentSession, user.id)
    view["chosen_queues"] = row.queue_list if row else []
    return view


@router.post("/api/agents/me/login")
async def login(data: LoginIn, request: Request, user: Agent, session: SessionDep) -> dict[str, Any]:
    await _do(service.login(_rt(request), session, user, data.queues))
    await session.commit()
    return _view(request, user)


@router.post("/api/agents/me/logout")
async def logout(request: Request, user: Agent, session: SessionDep) -> dict[str, Any]:
    await _do(service.logout(_rt(request), session, user))
    await session.commit()
    return _view(request, user)


@router.post("/api/agents/me/pause")
async def pause(data: PauseIn, request: Request, user: Agent, session: SessionDep) -> dict[str, Any]:
    await _do(service.pause(_rt(request), session, user, data.reason))
    await session.commit()
    return _view(request, user)


@router.post("/api/agents/me/ready")
async def ready(request: Request, user: Agent, session: SessionDep) -> dict[str, Any]:
    await _do(service.pause(_rt(request), session, user, None))
    await session.commit()
    return _view(request, user)


@router.get("/api/agents/me/calls")
async def my_calls(
    user: Agent, session: SessionDep, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(Call).where(Call.agent == user.username).order_by(Call.arrived_at.desc()).limit(limit)
    )
    return [{**_call_brief(c), "caller": c.caller} for c in rows]


@router.get("/api/agents/me/screenpop")
async def current_pop(request: Request, user: Agent) -> dict[str, Any] | None:
    """The latest screen-pop of this agent (a reconnecting desktop asks for it once)."""
    comp = _rt(request).components.get("agents")
    if comp is None:
        return None
    pop = comp.last_pop.get(user.username)
    return pop if pop else None


@router.get("/api/agents")
async def list_agents(request: Request, user: Supervisor, session: SessionDep) -> list[dict[str, Any]]:
    """Agents of the supervisor's platform (all for the province), with their live state."""
    rt = _rt(request)
    q = select(User).where(User.role == Role.agent, User.active.is_(True))
    rows = [u for u in await session.scalars(q.order_by(User.username)) if sees_platform(user, u.platform)]
    tel = rt.components.get("telephony")
    return [service.agent_view(tel.state, u) if tel else {"username": u.username} for u in rows]


def _mine(user: User, data: dict[str, Any]) -> bool:
    iface = f"PJSIP/{user.sip_endpoint}" if user.sip_endpoint else None
    return (iface is not None and data.get("interface") == iface) or data.get("member") == user.username


@router.websocket("/ws/agent")
async def ws_agent(websocket: WebSocket) -> None:
    user = await ws.accept_user(websocket, Role.agent)
    if user is None:
        return
    rt = websocket.app.state.runtime
    tel = rt.components.get("telephony")
    async with ws.subscription(websocket) as q:
        try:
            await ws.send(websocket, {"type": "state", **service.agent_view(tel.state, user)})
            while True:
                events = [await q.get(), *ws.drain(q)]
                state_changed = False
                for ev in events:
                    if ev.topic == "_closed":
                        return
                    if ev.topic == "telephony.resync":
                        state_changed = True
                    elif not _mine(user, ev.data):
                        continue
                    elif ev.topic == "agent.screenpop":
                        await ws.send(websocket, ev.data)
                    elif ev.topic == "agent.connect":
                        await ws.send(
                            websocket,
                            {
                                "type": "bound",
                                "uniqueid": ev.data.get("uniqueid"),
                                "caller": ev.data.get("caller"),
                            },
                        )
                    elif ev.topic == "agent.complete":
                        await ws.send(websocket, {"type": "complete", "uniqueid": ev.data.get("uniqueid")})
                    elif ev.topic == "agent.state":
                        state_changed = True
                if state_changed:
                    await ws.send(websocket, {"type": "state", **service.agent_view(tel.state, user)})
        except Exception as e:  # the client went away mid-send
            log.debug("agent socket of %s ended: %r", user.username, e)


@router.get("/ui/agent", include_in_schema=False)
async def agent_page() -> FileResponse:
    return page(HERE / "templates" / "agent.html")
