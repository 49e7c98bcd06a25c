"""Wallboard data: today's KPIs from the calls table, the live queue/agent picture from TelephonyState,
the abandoned-call list with each call's call-back (app.callbacks). No commits here."""

from __future__ import annotations

import logging
import time
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents import service as agents
from app.auth.models import User
from app.auth.service import sees_platform
from app.callbacks.models import Callback
from app.callbacks.service import callback_out
from app.calls import models as cm
from app.calls.models import Call
from app.cases import queries as case_queries
from app.db import utcnow
from app.masking import mask_number
from app.reports.figures import CallCounts, call_figures
from app.reports.queries import Filters, bounds, call_counts
from app.stats import kpi
from app.surveys import service as surveys
from app.telephony.lifecycle import TELEPHONY
from callflow.skills import base_queue, split_queue

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


def hotline_for(rt: Runtime, hotline: str | None) -> str | None:
    """The source hotline a wallboard is filtered by (None = every hotline); raises when unknown."""
    if hotline in (None, "", "all"):
        return None
    if rt.config.hotlines.by_code(hotline) is None:
        raise StatsError(f"未知的来源热线 {hotline}", 400)
    return hotline


async def kpis(
    rt: Runtime, session: AsyncSession, platform: str | None, now: datetime | None = None,
    hotline: str | None = None,
) -> dict[str, Any]:
    tz = rt.config.zone
    day = kpi.today(now or utcnow(), tz)
    start, end = kpi.day_bounds(day, tz)
    q = select(Call.platform, Call.queued_at, Call.answered_at, Call.outcome, Call.hold_s).where(
        Call.direction == "in", Call.queued_at >= start, Call.queued_at < end, Call.is_test.is_(False)
    )
    if platform is not None:
        q = q.where(Call.platform == platform)
    if hotline is not None:
        q = q.where(Call.source_hotline == hotline)
    rows = [kpi.CallRecord(*r) for r in (await session.execute(q)).all()]
    out = kpi.by_platform(rows, tz)
    out["day"] = day.isoformat()
    out["scope"] = platform or "all"
    out["hotline"] = hotline or "all"
    out["satisfaction"] = await surveys.satisfaction(session, start, end, platform)  # 今日满意率 (回访)
    out["cases"] = await case_queries.first_contact(session, start, end, platform)  # 今日直接答复
    return out


def queue_label(rt: Runtime, name: str) -> str:
    """A queue's Chinese name: its platform's (昆明热线, 省平台), numbered when a platform has several."""
    queue, skill = split_queue(name)
    p = rt.config.platform_for_queue(queue)
    if p is None or queue not in p.queues:
        return name
    base = p.short_name if p.kind == "province" else f"{p.short_name}热线"
    label = base if len(p.queues) == 1 else f"{base}{p.queues.index(queue) + 1}组"
    group = rt.config.skills.by_code(skill) if skill else None
    return f"{label}·{group.name if group else skill}" if skill else label


def platform_label(rt: Runtime, code: str | None) -> str:
    names = {p.code: p.short_name for p in rt.config.platforms}
    return names.get(code or "", code or "")


async def period(
    rt: Runtime, session: AsyncSession, platform: str | None, first: date, last: date, hotline: str | None
) -> dict[str, Any]:
    """接通率, 15秒接通率 and 满意率 of any chosen period (local days, inclusive): the reports' own
    counters (app.reports), and the ratings given in the period (as 今日满意率)."""
    f = Filters(first, last, (platform,) if platform else None, hotline)
    total = CallCounts()
    for _day, _p, _v, counts in await call_counts(session, f, rt.config.zone, "none"):
        total.add(counts)
    start, end = bounds(f, rt.config.zone)
    return {
        "start": first.isoformat(),
        "end": last.isoformat(),
        **call_figures(total),
        "satisfaction": await surveys.satisfaction(session, start, end, platform),
    }


def live(rt: Runtime, platform: str | None) -> dict[str, Any]:
    tel = rt.get(TELEPHONY)
    if tel is None:
        return {"queues": [], "agents": [], "at": time.time()}
    snap = tel.state.snapshot(queues=agents.queues_in(rt, platform))
    servers = {n: c.connected for n, c in tel.connections.items()}
    for q in snap["queues"]:
        q["label"] = queue_label(rt, q["name"])
        # its Asterisk out of reach: what we hold is the state before the loss, shown as unavailable
        q["available"] = servers.get(q["server"], True)
        for c in q["callers"]:
            c["caller"] = mask_number(c["caller"])
    members: dict[str, list[Any]] = {}
    on_server: dict[str, set[str]] = {}
    for q in tel.state.queues.values():
        if q.name in agents.queues_in(rt, platform):
            for m in q.members.values():
                members.setdefault(m.interface, []).append(m)
                on_server.setdefault(m.interface, set()).add(q.server)
    snap["agents"] = sorted(
        (
            {"name": ms[0].name, "interface": iface, **agents.derive(ms)}
            | {"queue_labels": [queue_label(rt, q) for q in sorted({base_queue(m.queue) for m in ms})]}
            | {"available": all(servers.get(s, True) for s in on_server[iface])}
            for iface, ms in members.items()
        ),
        key=lambda a: a["name"],
    )
    snap["servers"] = servers
    return snap


async def abandoned(
    rt: Runtime, session: AsyncSession, platform: str | None, limit: int = 100, hotline: str | None = None
) -> list[dict[str, Any]]:
    tz = rt.config.zone
    start, end = kpi.day_bounds(kpi.today(utcnow(), tz), tz)
    q = select(Call).where(
        Call.direction == "in",
        Call.outcome == cm.ABANDONED,
        Call.arrived_at >= start,
        Call.is_test.is_(False),
    )
    if platform is not None:
        q = q.where(Call.platform == platform)
    if hotline is not None:
        q = q.where(Call.source_hotline == hotline)
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
                "caller": mask_number(c.caller),
                "platform": c.platform,
                "platform_label": platform_label(rt, c.platform),
                "source_hotline": c.source_hotline,
                "queue": c.queue,
                "prefecture": c.prefecture,
                "arrived_at": c.arrived_at.isoformat(),
                "hold_s": c.hold_s,
                "callback": callback_out(cb) if cb else None,
            }
        )
    return out
