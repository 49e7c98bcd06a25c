"""Reports: the figures of any date range, by period and one dimension, and the calls and cases behind
any figure (drill-down). Read-only: no commits."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import User
from app.auth.service import sees_platform
from app.calls.models import Call
from app.cases import workflow as wf
from app.cases.models import Case
from app.cases.rules import rules_of
from app.masking import mask_number
from app.reports import figures as fg
from app.reports import queries as qx
from app.reports import rollup
from app.units.models import Unit

if TYPE_CHECKING:
    from app.runtime import Runtime

MAX_DAYS = 3 * 366
CHANNEL_NAMES = {
    "phone": "电话",
    "voicemail": "留言",
    "web": "网站",
    "sms": "短信",
    "email": "邮件",
    "wechat": "微信",
}


class ReportError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def check_range(start: date, end: date) -> None:
    if end < start:
        raise ReportError("结束日期早于开始日期")
    if (end - start).days >= MAX_DAYS:
        raise ReportError(f"日期范围最长 {MAX_DAYS} 天")


def allowed_platforms(rt: Runtime, user: User, platform: str | None) -> tuple[str, ...] | None:
    """The platforms a user's report covers (None: all); raises when the user may not see ``platform``."""
    if platform in (None, "", "all"):
        return None if sees_platform(user, None) else (user.platform or "",)
    if platform not in {p.code for p in rt.config.platforms}:
        raise ReportError("未知平台", 404)
    if not sees_platform(user, platform):
        raise ReportError("无权查看该平台", 403)
    return (platform,)


async def labels(
    rt: Runtime, session: AsyncSession, by: str, values: set[str | None]
) -> dict[str | None, str]:
    """Chinese names for the values of a dimension."""
    out: dict[str | None, str] = {None: "全部" if by == "none" else "未填"}
    if by == "platform":
        names = {p.code: p.short_name for p in rt.config.platforms}
    elif by == "channel":
        names = CHANNEL_NAMES
    elif by == "category":
        names = rules_of(rt).category_names()
    elif by == "unit":
        wanted = [v for v in values if v]
        names = {}
        if wanted:
            result = await session.execute(select(Unit.code, Unit.name).where(Unit.code.in_(wanted)))
            names = {code: name for code, name in result.all()}
    else:
        names = {h.code: h.name for h in rt.config.hotlines.hotlines}
    for v in values:
        if v is not None:
            out[v] = names.get(v, v)
    return out


def _periods(start: date, end: date, period: str) -> list[str]:
    keys: list[str] = []
    d = start
    while d <= end:
        k = fg.period_key(d, period)
        if not keys or keys[-1] != k:
            keys.append(k)
        d += timedelta(days=1)
    return keys


async def report(
    rt: Runtime, session: AsyncSession, f: qx.Filters, period: str, by: str, *, raw: bool = False
) -> dict[str, Any]:
    """The figures, from the daily rollup where it is clean (docs/adr/report-rollup.md); ``raw``: from
    the raw rows only (the benchmark's comparison)."""
    check_range(f.start, f.end)
    tz = rt.config.zone
    with_calls = f.calls_apply and by in ("none", "platform", "hotline")
    src: Any = qx if raw else rollup
    calls = await src.call_counts(session, f, tz, by) if with_calls else []
    cases = await src.case_counts(session, f, tz, by)

    def dim_of(platform: str | None, value: str | None) -> str | None:
        return platform if by == "platform" else (None if by == "none" else value)

    groups: dict[tuple[str, str | None], tuple[fg.CallCounts, fg.CaseCounts]] = {}
    per_period: dict[str, tuple[fg.CallCounts, fg.CaseCounts]] = {
        k: (fg.CallCounts(), fg.CaseCounts()) for k in _periods(f.start, f.end, period)
    }
    total = (fg.CallCounts(), fg.CaseCounts())
    for day, platform, value, cc in calls:
        key = (fg.period_key(day, period), dim_of(platform, value))
        groups.setdefault(key, (fg.CallCounts(), fg.CaseCounts()))[0].add(cc)
        per_period[key[0]][0].add(cc)
        total[0].add(cc)
    for day, platform, value, kc in cases:
        key = (fg.period_key(day, period), dim_of(platform, value))
        groups.setdefault(key, (fg.CallCounts(), fg.CaseCounts()))[1].add(kc)
        per_period[key[0]][1].add(kc)
        total[1].add(kc)
    names = await labels(rt, session, by, {d for _, d in groups})

    def figures(pair: tuple[fg.CallCounts, fg.CaseCounts]) -> dict[str, Any]:
        out = fg.call_figures(pair[0]) if with_calls else dict.fromkeys(fg.CALL_KEYS)
        return {**out, **fg.case_figures(pair[1])}

    rows = [
        {
            "period": p,
            "period_label": fg.period_label(p, period),
            "dim": d,
            "dim_label": names.get(d, d or ""),
            **figures(pair),
        }
        for (p, d), pair in sorted(groups.items(), key=lambda kv: (kv[0][0], names.get(kv[0][1], "") or ""))
    ]
    return {
        "start": f.start.isoformat(),
        "end": f.end.isoformat(),
        "period": period,
        "by": by,
        "calls_apply": with_calls,
        "columns": [{"key": k, "label": label, "kind": kind} for k, label, kind in fg.COLUMNS],
        "rows": rows,
        "series": [
            {"period": p, "period_label": fg.period_label(p, period), **figures(pair)}
            for p, pair in per_period.items()
        ],
        "total": figures(total),
    }


def _bucket(f: qx.Filters, period: str, key: str | None) -> qx.Filters:
    if period == "total" or not key:
        return f
    try:
        if period == "month":
            first = date.fromisoformat(key + "-01")
            nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
            lo, hi = first, nxt - timedelta(days=1)
        else:
            lo = date.fromisoformat(key)
            hi = lo + timedelta(days=6 if period == "week" else 0)
    except ValueError as e:
        raise ReportError("无效的统计周期") from e
    lo, hi = max(lo, f.start), min(hi, f.end)
    if hi < lo:
        raise ReportError("统计周期不在日期范围内")
    return replace(f, start=lo, end=hi)


def _narrow(f: qx.Filters, by: str, dim: str | None) -> qx.Filters:
    if by == "none" or dim is None:
        return f
    if by == "platform":
        if f.platforms is not None and dim not in f.platforms:
            raise ReportError("无权查看该平台", 403)
        return replace(f, platforms=(dim,))
    if by == "category":
        return replace(f, category=dim)
    if by == "channel":
        return replace(f, channel=dim)
    if by == "unit":
        return replace(f, unit=dim)
    return replace(f, hotline=dim)


def call_row(c: Call) -> dict[str, Any]:
    return {
        "uniqueid": c.uniqueid,
        "caller": mask_number(c.caller),
        "platform": c.platform,
        "queue": c.queue,
        "agent": c.agent,
        "outcome": c.outcome,
        "arrived_at": c.arrived_at.isoformat(),
        "hold_s": c.hold_s,
        "talk_s": c.talk_s,
    }


def case_row(c: Case) -> dict[str, Any]:
    return {
        "number": c.number,
        "platform": c.platform,
        "channel": c.channel,
        "category_code": c.category_code,
        "lead_unit": c.lead_unit,
        "summary": c.summary,
        "status": c.status,
        "status_label": wf.LABELS.get(c.status, c.status),
        "citizen_phone": mask_number(c.citizen_phone) if c.citizen_phone else None,
        "created_at": c.created_at.isoformat(),
        "rating": c.rating,
    }


async def drill(
    rt: Runtime,
    session: AsyncSession,
    f: qx.Filters,
    *,
    subset: str,
    period: str,
    key: str | None,
    by: str,
    dim: str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """The calls or cases behind one figure of one row (period bucket × dimension value)."""
    check_range(f.start, f.end)
    tz = rt.config.zone
    g = _narrow(_bucket(f, period, key), by, dim)
    if subset in qx.CALL_SETS:
        if not g.calls_apply or by in qx.CASE_DIMS:
            raise ReportError("话务指标不按渠道、单位或类别细分")
        total, calls = await qx.page_of(
            session, qx.calls_query(g, tz, subset), (Call.arrived_at, Call.id), limit, offset
        )
        return {"kind": "calls", "total": total, "items": [call_row(c) for c in calls]}
    if subset in qx.CASE_SETS:
        total, cases = await qx.page_of(
            session, qx.cases_query(session, g, tz, subset), (Case.created_at, Case.id), limit, offset
        )
        return {"kind": "cases", "total": total, "items": [case_row(c) for c in cases]}
    raise ReportError(f"未知指标 {subset}")
