"""Wallboard data: today's KPIs from the calls table, the live queue/agent picture from TelephonyState,
the abandoned-call list and call-backs (AMI Originate from an available agent's phone). No commits
here except where an AMI action must see the row first (call_back)."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents import service as agents
from app.auth.models import User
from app.auth.service import sees_platform
from app.calls import models as cm
from app.calls.models import Call
from app.db import utcnow
from app.stats import kpi
from app.stats import models as sm
from app.stats.models import Callback
from app.surveys import service as surveys
from app.telephony.ami import AmiError
from app.telephony.handlers import OUTBOUND_PREFIX

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger(__name__)


class StatsError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def scope_for(user: User, platform: str | None) -> str | None:
    """The platform a wallboard shows (None = the whole province); raises when not allowed."""
    if platform in (None, "", "all"):
        if sees_platform(user, None):
            return None
        return user.platform
    if not sees_platform(user, platform):
        raise StatsError("无权查看该平台", 403)
    return platform


def mask(number: str) -> str:
    """Supervisors' views show 139****2345; the agent handling the call sees it in full."""
    if len(number) >= 7:
        return number[:3] + "*" * (len(number) - 7) + number[-4:] if len(number) > 7 else number[:3] + "****"
    return number


def queues_in(rt: Runtime, platform: str | None) -> set[str]:
    if platform is None:
        return set(rt.config.all_queues())
    try:
        return set(rt.config.platform(platform).queues)
    except KeyError:
        return set()


async def kpis(
    rt: Runtime, session: AsyncSession, platform: str | None, now: datetime | None = None
) -> dict[str, Any]:
    tz = rt.config.zone
    day = kpi.today(now or utcnow(), tz)
    start, end = kpi.day_bounds(day, tz)
    q = select(Call.platform, Call.queued_at, Call.answered_at, Call.outcome, Call.hold_s).where(
        Call.direction == "in", Call.queued_at >= start, Call.queued_at < end
    )
    if platform is not None:
        q = q.where(Call.platform == platform)
    rows = [kpi.CallRecord(*r) for r in (await session.execute(q)).all()]
    out = kpi.by_platform(rows, tz)
    out["day"] = day.isoformat()
    out["scope"] = platform or "all"
    out["satisfaction"] = await surveys.satisfaction(session, start, end, platform)  # 今日满意率 (回访)
    return out


def live(rt: Runtime, platform: str | None) -> dict[str, Any]:
    tel = rt.components.get("telephony")
    if tel is None:
        return {"queues": [], "agents": [], "at": time.time()}
    snap = tel.state.snapshot(queues=queues_in(rt, platform))
    for q in snap["queues"]:
        for c in q["callers"]:
            c["caller"] = mask(c["caller"])
    members: dict[str, list[Any]] = {}
    for q in tel.state.queues.values():
        if q.name in queues_in(rt, platform):
            for m in q.members.values():
                members.setdefault(m.interface, []).append(m)
    snap["agents"] = sorted(
        ({"name": ms[0].name, "interface": iface, **agents.derive(ms)} for iface, ms in members.items()),
        key=lambda a: a["name"],
    )
    snap["servers"] = {n: c.connected for n, c in tel.connections.items()}
    return snap


async def abandoned(
    rt: Runtime, session: AsyncSession, platform: str | None, limit: int = 100
) -> list[dict[str, Any]]:
    tz = rt.config.zone
    start, end = kpi.day_bounds(kpi.today(utcnow(), tz), tz)
    q = select(Call).where(Call.direction == "in", Call.outcome == cm.ABANDONED, Call.arrived_at >= start)
    if platform is not None:
        q = q.where(Call.platform == platform)
    calls = list(await session.scalars(q.order_by(Call.arrived_at.desc()).limit(limit)))
    cbs: dict[str, Callback] = {}
    if calls:
        for row in await session.scalars(
            select(Callback)
            .where(Callback.call_uniqueid.in_([c.uniqueid for c in calls]))
            .order_by(Callback.id)
        ):
            cbs[row.call_uniqueid] = row
    out = []
    for c in calls:
        cb = cbs.get(c.uniqueid)
        out.append(
            {
                "uniqueid": c.uniqueid,
                "caller": mask(c.caller),
                "platform": c.platform,
                "queue": c.queue,
                "prefecture": c.prefecture,
                "arrived_at": c.arrived_at.isoformat(),
                "hold_s": c.hold_s,
                "callback": callback_out(cb) if cb else None,
            }
        )
    return out


def callback_out(cb: Callback) -> dict[str, Any]:
    return {
        "id": cb.id,
        "status": cb.status,
        "agent": cb.agent,
        "detail": cb.detail,
        "created_at": cb.created_at.isoformat(),
        "channel_id": cb.channel_id,
        "call_uniqueid": cb.call_uniqueid,
        "platform": cb.platform,
    }


def pick_agent(rt: Runtime, queues: set[str], wanted: str | None) -> tuple[str, str, str]:
    """(member name, interface, server) of an available agent of these queues."""
    tel = rt.components["telephony"]
    for q in sorted(tel.state.queues.values(), key=lambda q: q.name):
        if q.name not in queues:
            continue
        for m in sorted(q.members.values(), key=lambda m: m.since):
            if wanted and m.name != wanted:
                continue
            if agents.derive(agents.members_of(tel.state, m.interface))["state"] == "available":
                return m.name, m.interface, q.server
    raise StatsError("没有空闲坐席可回拨" if not wanted else f"坐席 {wanted} 不空闲", 409)


async def call_back(
    rt: Runtime, session: AsyncSession, user: User, uniqueid: str, agent: str | None = None
) -> Callback:
    call = await session.scalar(select(Call).where(Call.uniqueid == uniqueid))
    if call is None or not sees_platform(user, call.platform):
        raise StatsError(f"没有这个呼叫 {uniqueid}", 404)
    number = re.sub(r"[^0-9]", "", call.caller or "")
    if not number:
        raise StatsError("来电号码未知，无法回拨", 409)
    name, iface, server = pick_agent(rt, queues_in(rt, call.platform) or {call.queue or ""}, agent)
    cb = Callback(
        channel_id=f"{OUTBOUND_PREFIX}{uuid.uuid4().hex[:16]}",
        call_uniqueid=uniqueid,
        number=number,
        platform=call.platform,
        agent=name,
        interface=iface,
        requested_by=user.username,
        status=sm.ORIGINATING,
    )
    session.add(cb)
    await session.commit()  # the AMI events that follow must find it
    conn = rt.components["telephony"].connections[server]
    action = {
        "Action": "Originate",
        "Channel": iface,
        "Context": "hotline-outbound",
        "Exten": number,
        "Priority": "1",
        "CallerID": f'"12345回拨" <{number}>',
        "ChannelId": cb.channel_id,
        "OtherChannelId": f"{cb.channel_id}-2",
        "Timeout": "30000",
        "Variable": f"HOTLINE_CALLBACK={uniqueid}",
    }
    comp = rt.components.get("stats")
    if comp is not None:
        comp.spawn(_originate(rt, conn, action, cb.channel_id))
    return cb


async def _originate(rt: Runtime, conn: Any, action: dict[str, Any], channel_id: str) -> None:
    """OriginateResponse arrives only when the agent's phone answered or failed: wait for it."""
    try:
        res = await conn.action(action, as_list=True, timeout=40)  # [Response, OriginateResponse]
        resp: dict[str, str] = next((m for m in res if m.get("Event") == "OriginateResponse"), {})
        ok = resp.get("Response", "Success") == "Success"
        await update_callback(
            rt,
            channel_id,
            sm.DIALING if ok else sm.FAILED,
            None if ok else f"坐席话机未接听 ({resp.get('Reason', '')})",
        )
    except AmiError as e:
        await update_callback(rt, channel_id, sm.FAILED, str(e)[:250])
    except asyncio.CancelledError:
        raise


ORDER = {sm.ORIGINATING: 0, sm.DIALING: 1, sm.CONNECTED: 2, sm.FAILED: 3, sm.DONE: 3}


async def update_callback(rt: Runtime, channel_id: str, status: str, detail: str | None = None) -> None:
    from app.events import Event

    async with rt.db.sessionmaker() as session:
        cb = await session.scalar(select(Callback).where(Callback.channel_id == channel_id))
        if cb is None or ORDER[status] < ORDER.get(cb.status, 0) or cb.status in (sm.FAILED, sm.DONE):
            return
        cb.status = status
        if detail:
            cb.detail = detail
        if status == sm.CONNECTED:
            cb.connected_at = utcnow()
        if status in (sm.FAILED, sm.DONE):
            cb.ended_at = utcnow()
        await session.commit()
        out = callback_out(cb)
    await rt.hub.publish(Event("callback.updated", out))
