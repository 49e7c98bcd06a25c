"""Supervisor wallboard: KPIs, live queues/agents, abandoned calls (回拨 is app.callbacks), the
/ws/wallboard push."""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, WebSocket
from fastapi.responses import FileResponse

from app.auth.deps import require_roles
from app.auth.models import Role, User
from app.auth.service import sees_platform
from app.deps import SessionDep
from app.realtime import ws
from app.stats import service
from app.stats.component import STATS
from app.stats.topics import ABANDONED_TOPICS, KPI_TOPICS, STATE_TOPICS
from app.web.router import page

log = logging.getLogger(__name__)
router = APIRouter(tags=["stats"])
Supervisor = Annotated[User, Depends(require_roles(Role.supervisor, Role.admin))]
HERE = Path(__file__).resolve().parent
KPI_PUSH_TOPICS = KPI_TOPICS + ABANDONED_TOPICS


def _scope(user: User, platform: str | None) -> str | None:
    try:
        return service.scope_for(user, platform)
    except service.StatsError as e:
        raise HTTPException(e.status, str(e)) from e


def _hotline(request: Request, hotline: str | None) -> str | None:
    try:
        return service.hotline_for(request.app.state.runtime, hotline)
    except service.StatsError as e:
        raise HTTPException(e.status, str(e)) from e


@router.get("/api/stats/kpis")
async def get_kpis(
    request: Request, user: Supervisor, session: SessionDep, platform: str | None = None,
    hotline: str | None = None,
) -> dict[str, Any]:
    return await service.kpis(
        request.app.state.runtime, session, _scope(user, platform), hotline=_hotline(request, hotline)
    )


@router.get("/api/stats/live")
async def get_live(request: Request, user: Supervisor, platform: str | None = None) -> dict[str, Any]:
    return service.live(request.app.state.runtime, _scope(user, platform))


@router.get("/api/stats/abandoned")
async def get_abandoned(
    request: Request, user: Supervisor, session: SessionDep, platform: str | None = None,
    hotline: str | None = None,
) -> list[dict[str, Any]]:
    return await service.abandoned(
        request.app.state.runtime, session, _scope(user, platform), hotline=_hotline(request, hotline)
    )


@router.get("/api/stats/platforms")
async def platforms(request: Request, user: Supervisor) -> list[dict[str, str]]:
    cfg = request.app.state.runtime.config
    out = [{"code": "all", "name": "全省"}] if sees_platform(user, None) else []
    return out + [
        {"code": p.code, "name": p.short_name} for p in cfg.platforms if sees_platform(user, p.code)
    ]


@router.get("/api/stats/period")
async def get_period(
    request: Request,
    user: Supervisor,
    session: SessionDep,
    start: date,
    end: date,
    platform: str | None = None,
    hotline: str | None = None,
) -> dict[str, Any]:
    """接通率, 15秒接通率 and 满意率 of any chosen period (the wallboard's period card)."""
    if end < start or (end - start).days > 366:
        raise HTTPException(400, "日期范围须在 1 至 367 天之间")
    rt = request.app.state.runtime
    return await service.period(rt, session, _scope(user, platform), start, end, _hotline(request, hotline))


@router.get("/api/stats/hotlines")
async def hotlines(request: Request, user: Supervisor) -> list[dict[str, str]]:
    """The source hotlines (并号/分线) a wallboard can be filtered by."""
    cfg = request.app.state.runtime.config
    return [{"code": "all", "name": "全部热线"}] + [
        {"code": h.code, "name": h.name, "kind": h.kind} for h in cfg.hotlines.hotlines
    ]


async def _kpi_msg(rt: Any, scope: str | None, hotline: str | None = None) -> dict[str, Any]:
    kpis = await rt.require(STATS).kpis(scope, hotline)  # cached: ≤ 2 computations/s per scope
    async with rt.db.sessionmaker() as session:
        abandoned = await service.abandoned(rt, session, scope, hotline=hotline)
    return {"type": "kpis", "scope": scope or "all", "hotline": hotline or "all", "kpis": kpis, "abandoned": abandoned}


@router.websocket("/ws/wallboard")
async def ws_wallboard(websocket: WebSocket) -> None:
    """Pushes {type: live} (queues, agents) on every state event, coalesced, and {type: kpis}
    (figures, half-hour chart, abandoned list) when calls change, throttled."""
    user = await ws.accept_user(websocket, Role.supervisor, Role.admin)
    if user is None:
        return
    rt = websocket.app.state.runtime
    try:
        scope = service.scope_for(user, websocket.query_params.get("platform"))
        hotline = service.hotline_for(rt, websocket.query_params.get("hotline"))
    except service.StatsError as e:
        await ws.send(websocket, {"type": "error", "detail": str(e)})
        await websocket.close(code=4403)
        return
    lock = asyncio.Lock()
    kpi_dirty = asyncio.Event()

    async def push(msg: dict[str, Any]) -> None:
        async with lock:
            await ws.send(websocket, msg)

    async def kpi_loop() -> None:
        while True:
            await kpi_dirty.wait()
            kpi_dirty.clear()
            await push(await _kpi_msg(rt, scope, hotline))

    async with ws.subscription(websocket) as q:
        kpi_task = asyncio.create_task(kpi_loop())
        try:
            await push({"type": "live", "scope": scope or "all", "live": service.live(rt, scope)})
            kpi_dirty.set()
            while True:
                events = [await q.get(), *ws.drain(q)]
                if any(e.topic == "_closed" for e in events) or kpi_task.done():
                    return
                if any(e.topic.startswith(KPI_PUSH_TOPICS) for e in events):
                    kpi_dirty.set()
                if any(e.topic.startswith(STATE_TOPICS) for e in events):
                    await push({"type": "live", "scope": scope or "all", "live": service.live(rt, scope)})
        except Exception as e:  # the client went away mid-send
            log.debug("wallboard socket of %s ended: %r", user.username, e)
        finally:
            kpi_task.cancel()


@router.get("/ui/wallboard", include_in_schema=False)
async def wallboard_page() -> FileResponse:
    return page(HERE / "templates" / "wallboard.html")
