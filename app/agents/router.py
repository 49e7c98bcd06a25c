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
from app.agents.component import AGENTS
from app.agents.models import AgentSession
from app.agents.screenpop import _call_brief
from app.auth.deps import require_roles
from app.auth.models import Role, User
from app.auth.service import sees_platform
from app.calls.models import Call
from app.deps import SessionDep
from app.events import Event
from app.realtime import ws
from app.runtime import Runtime
from app.telephony.lifecycle import TELEPHONY
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


def _rt(request: Request) -> Runtime:
    return request.app.state.runtime


def _view(request: Request, user: User) -> dict[str, Any]:
    rt = _rt(request)
    tel = rt.get(TELEPHONY)
    view: dict[str, Any] = service.agent_view(tel.state, user) if tel else {"state": "logged_out"}
    view["available_queues"] = service.platform_queues(rt, user.platform)
    view["pause_reasons"] = list(service.PAUSE_REASONS)
    comp = rt.get(AGENTS)
    queues = view.get("queues") or view["available_queues"]
    view["wrapup_s"] = comp.wrapup_s(queues[0]) if comp is not None and queues else rt.settings.wrapup_s
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
    comp = _rt(request).get(AGENTS)
    iface = f"PJSIP/{user.sip_endpoint}" if user.sip_endpoint else ""
    left = comp.enforced_left(iface) if comp is not None and iface else 0
    if left > 0:  # Asterisk would offer no call anyway: the desktop must not say 空闲
        raise HTTPException(409, f"话后处理由交换机控制，还需 {left:.0f} 秒")
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
    comp = _rt(request).get(AGENTS)
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
    tel = rt.get(TELEPHONY)
    return [service.agent_view(tel.state, u) if tel else {"username": u.username} for u in rows]


SUPERVISOR_PAUSE = "班长暂停"


async def _agent_of(session: Any, supervisor: User, username: str) -> User:
    """An agent the supervisor oversees (their platform; every platform for the province); 404 else."""
    target = await session.scalar(select(User).where(User.username == username, User.role == Role.agent))
    if target is None or not sees_platform(supervisor, target.platform):
        raise HTTPException(404, f"没有这名坐席 {username}")
    return target  # type: ignore[no-any-return]


@router.post("/api/agents/{username}/pause")
async def supervisor_pause(
    username: str, request: Request, user: Supervisor, session: SessionDep
) -> dict[str, Any]:
    """The supervisor pauses an agent (the wallboard's 暂停): Asterisk offers them no call until they,
    or the supervisor, make them ready again."""
    target = await _agent_of(session, user, username)
    await _do(service.pause(_rt(request), session, target, SUPERVISOR_PAUSE))
    await session.commit()
    return _view(request, target)


@router.post("/api/agents/{username}/ready")
async def supervisor_ready(
    username: str, request: Request, user: Supervisor, session: SessionDep
) -> dict[str, Any]:
    target = await _agent_of(session, user, username)
    await _do(service.pause(_rt(request), session, target, None))
    await session.commit()
    return _view(request, target)


@router.post("/api/agents/{username}/logout")
async def supervisor_logout(
    username: str, request: Request, user: Supervisor, session: SessionDep
) -> dict[str, Any]:
    """The supervisor signs an agent out of every queue (the wallboard's 签出)."""
    target = await _agent_of(session, user, username)
    await _do(service.logout(_rt(request), session, target))
    await session.commit()
    return _view(request, target)


def _mine(user: User, data: dict[str, Any]) -> bool:
    iface = f"PJSIP/{user.sip_endpoint}" if user.sip_endpoint else None
    return (iface is not None and data.get("interface") == iface) or data.get("member") == user.username


AGENT_TOPICS = frozenset(
    {
        "agent.screenpop",
        "agent.connect",
        "agent.transcript",
        "agent.complete",
        "agent.state",
        "agent.transfer",
    }
)


@router.websocket("/ws/agent")
async def ws_agent(websocket: WebSocket) -> None:
    user = await ws.accept_user(websocket, Role.agent)
    if user is None:
        return
    rt = websocket.app.state.runtime
    tel = rt.get(TELEPHONY)

    def accept(ev: Event) -> bool:  # filtered as published: other agents' calls never wake this socket
        if ev.topic == "telephony.live":  # a follower process loaded the leader's state: if it is ours
            return f"PJSIP/{user.sip_endpoint}" in ev.data.get("interfaces", ())
        return ev.topic == "telephony.resync" or (ev.topic in AGENT_TOPICS and _mine(user, ev.data))

    async with ws.subscription(websocket, accept) as q:
        try:
            await ws.send(websocket, {"type": "state", **service.agent_view(tel.state, user)})
            while True:
                events = [await q.get(), *ws.drain(q)]
                state_changed = False
                for ev in events:
                    if ev.topic == "_closed":
                        return
                    if ev.topic in ("telephony.resync", "telephony.live"):
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
                    elif ev.topic == "agent.transfer":  # app.transfers: the transferring agent's outcome
                        await ws.send(websocket, {**ev.data, "type": "transfer"})
                    elif ev.topic == "agent.transcript":
                        await ws.send(websocket, {"type": "transcript", **ev.data})
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
