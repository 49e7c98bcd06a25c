"""The reports' daily rollup (docs/adr/report-rollup.md): additive counters per local day and group,
read instead of the raw calls and cases for every day that is built and clean; today, days not built
yet and days a write has touched since they were built (report_dirty, filled by database triggers in
the writer's own transaction) are computed from the raw rows as before. The rebuild (``refresh``) runs
in the case scheduler's sweep, so in one process at a time (app.pg.while_leading). No commits here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, delete, false, func, insert, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls.models import Call
from app.cases.models import Case
from app.db import utcnow
from app.reports import queries as qx
from app.reports.figures import REPEAT_WINDOW_DAYS, CallCounts, CaseCounts
from app.reports.models import CallDay, CaseDay, RollupDay, RollupDirty

#: Days not built yet that one refresh builds at most (newest first), so the first run over a year of
#: data does not hold the scheduler's sweep for long; dirty days are always rebuilt.
BUILD_PER_RUN = 62
#: The most days after its instant a report_dirty row touches (the repeat-contact window).
MAX_SPAN = REPEAT_WINDOW_DAYS
CALL_FIELDS = ("offered", "answered", "within_15s", "abandoned", "hold_sum", "hold_n", "talk_sum", "talk_n")
CASE_FIELDS = (
    "cases", "direct", "finished", "on_time", "rated", "satisfied", "dispatched", "returned", "extended",
    "repeat",
)  # fmt: skip


def _days(lo: date, hi: date) -> Iterable[date]:
    d = lo
    while d <= hi:
        yield d
        d += timedelta(days=1)


async def dirty_days(
    session: AsyncSession, tz: ZoneInfo, within: qx.Filters | None = None
) -> tuple[list[int], set[date]]:
    """The ids of the pending report_dirty rows and the local days they touch (only the rows that can
    touch the days of ``within`` when given)."""
    q = select(RollupDirty.id, RollupDirty.at, RollupDirty.span_days)
    if within is not None:
        start, end = qx.bounds(within, tz)
        q = q.where(RollupDirty.at >= start - timedelta(days=MAX_SPAN + 1), RollupDirty.at < end)
    ids: list[int] = []
    days: set[date] = set()
    for id_, at, span in (await session.execute(q)).all():
        ids.append(id_)
        first = at.astimezone(tz).date()
        days.update(first + timedelta(days=i) for i in range(int(span or 0) + 1))
    return ids, days


async def clean_days(
    session: AsyncSession, f: qx.Filters, tz: ZoneInfo, now: datetime | None = None
) -> set[date]:
    """The days of the range the rollup answers for: built, before today, untouched since."""
    today = (now or utcnow()).astimezone(tz).date()
    last = min(f.end, today - timedelta(days=1))
    if last < f.start:
        return set()
    _, dirty = await dirty_days(session, tz, replace(f, end=last))
    built = await session.scalars(
        select(RollupDay.day).where(RollupDay.day >= f.start, RollupDay.day <= last)
    )
    return {qx.as_date(d) for d in built} - dirty


def runs(start: date, end: date, days: set[date], inside: bool) -> list[tuple[date, date]]:
    """The maximal runs of consecutive days in [start, end] that are (inside=True) or are not in ``days``."""
    out: list[tuple[date, date]] = []
    for d in _days(start, end):
        if (d in days) != inside:
            continue
        if out and out[-1][1] == d - timedelta(days=1):
            out[-1] = (out[-1][0], d)
        else:
            out.append((d, d))
    return out


def _in_runs(col: Any, spans: list[tuple[date, date]]) -> ColumnElement[bool]:
    return or_(*(and_(col >= lo, col <= hi) for lo, hi in spans))


# ---- reading -----------------------------------------------------------------------------------


async def call_counts(
    session: AsyncSession, f: qx.Filters, tz: ZoneInfo, by: str, now: datetime | None = None
) -> list[tuple[date, str | None, str | None, CallCounts]]:
    """qx.call_counts, from the rollup where it is clean and from the raw calls elsewhere."""
    clean = await clean_days(session, f, tz, now)
    out = []
    for lo, hi in runs(f.start, f.end, clean, inside=False):
        out += await qx.call_counts(session, replace(f, start=lo, end=hi), tz, by)
    spans = runs(f.start, f.end, clean, inside=True)
    if spans:
        dim = CallDay.hotline if by == "hotline" else literal(None)
        q = select(CallDay.day, CallDay.platform, dim, *(func.sum(getattr(CallDay, k)) for k in CALL_FIELDS))
        q = q.where(_in_runs(CallDay.day, spans))
        if f.platforms is not None:
            q = q.where(CallDay.platform.in_(f.platforms))
        if f.hotline is not None:
            q = q.where(CallDay.hotline == f.hotline)
        q = q.group_by(CallDay.day, CallDay.platform, dim)
        out += [
            (qx.as_date(r[0]), r[1], r[2], qx.call_counts_of(r[3:])) for r in (await session.execute(q)).all()
        ]
    return out


def _case_dim(by: str) -> Any:
    if by == "channel":
        return CaseDay.channel
    if by == "unit":
        return CaseDay.unit
    if by == "category":
        return qx.category_top(CaseDay.category)
    if by == "hotline":
        return CaseDay.hotline
    return literal(None)


async def case_counts(
    session: AsyncSession, f: qx.Filters, tz: ZoneInfo, by: str, now: datetime | None = None
) -> list[tuple[date, str | None, str | None, CaseCounts]]:
    """qx.case_counts, from the rollup where it is clean and from the raw cases elsewhere."""
    clean = await clean_days(session, f, tz, now)
    out = []
    for lo, hi in runs(f.start, f.end, clean, inside=False):
        out += await qx.case_counts(session, replace(f, start=lo, end=hi), tz, by)
    spans = runs(f.start, f.end, clean, inside=True)
    if spans:
        dim = _case_dim(by)
        q = select(CaseDay.day, CaseDay.platform, dim, *(func.sum(getattr(CaseDay, k)) for k in CASE_FIELDS))
        q = q.where(_in_runs(CaseDay.day, spans))
        if f.platforms is not None:
            q = q.where(CaseDay.platform.in_(f.platforms))
        if f.channel is not None:
            q = q.where(CaseDay.channel == f.channel)
        if f.unit is not None:
            q = q.where(CaseDay.unit == f.unit)
        if f.category is not None:
            q = q.where(CaseDay.category.startswith(f.category))
        if f.hotline is not None:
            q = q.where(CaseDay.hotline == f.hotline)
        q = q.group_by(CaseDay.day, CaseDay.platform, dim)
        out += [
            (qx.as_date(r[0]), r[1], r[2], CaseCounts(*(int(v or 0) for v in r[3:])))
            for r in (await session.execute(q)).all()
        ]
    return out


# ---- building ----------------------------------------------------------------------------------


async def build_day(session: AsyncSession, tz: ZoneInfo, day: date) -> int:
    """Replaces the rollup rows of one local day with counters summed from the raw rows; returns the
    number of rows written."""
    f = qx.Filters(day, day)
    start, end = qx.bounds(f, tz)
    await session.execute(delete(CallDay).where(CallDay.day == day))
    await session.execute(delete(CaseDay).where(CaseDay.day == day))
    await session.execute(delete(RollupDay).where(RollupDay.day == day))
    keys = (Call.platform, Call.source_hotline)
    q = qx.calls_where(select(*keys, *qx.call_aggregates()), f, start, end).group_by(*keys)
    calls = [
        {"day": day, "platform": r[0], "hotline": r[1], **vars_of(qx.call_counts_of(r[2:]))}
        for r in (await session.execute(q)).all()
    ]
    rep = qx.repeat_ids(session, start, end).subquery()
    ckeys = (Case.platform, Case.source_hotline, Case.channel, Case.lead_unit, Case.category_code)
    cq = select(*ckeys, *qx.case_aggregates(rep)).select_from(Case).outerjoin(rep, rep.c.id == Case.id)
    cq = qx.cases_where(cq, f, start, end).group_by(*ckeys)
    cases = [
        {
            "day": day,
            "platform": r[0],
            "hotline": r[1],
            "channel": r[2],
            "unit": r[3],
            "category": r[4],
            **{k: int(v or 0) for k, v in zip(CASE_FIELDS, r[5:], strict=True)},
        }  # fmt: skip
        for r in (await session.execute(cq)).all()
    ]
    if calls:
        await session.execute(insert(CallDay), calls)
    if cases:
        await session.execute(insert(CaseDay), cases)
    session.add(RollupDay(day=day, built_at=utcnow()))
    await session.flush()
    return len(calls) + len(cases)


def vars_of(c: CallCounts) -> dict[str, Any]:
    return {k: getattr(c, k) for k in CALL_FIELDS}


async def _first_day(session: AsyncSession, tz: ZoneInfo) -> date | None:
    first_call = await session.scalar(select(func.min(Call.arrived_at)).where(Call.is_test == false()))
    first_case = await session.scalar(select(func.min(Case.created_at)))
    firsts = [x for x in (first_call, first_case) if x is not None]
    if not firsts:
        return None
    return (
        min(x if isinstance(x, datetime) else datetime.fromisoformat(str(x)) for x in firsts)
        .astimezone(tz)
        .date()
    )


async def refresh(session: AsyncSession, tz: ZoneInfo, now: datetime | None = None) -> dict[str, int]:
    """Rebuilds the built days that writes have touched and builds up to BUILD_PER_RUN days not built
    yet (before today), then drops the report_dirty rows it has read. Only rows committed before it
    read them are dropped, and it reads them before the raw rows, so no change is lost."""
    today = (now or utcnow()).astimezone(tz).date()
    ids, dirty = await dirty_days(session, tz)
    built = {qx.as_date(d) for d in await session.scalars(select(RollupDay.day))}
    todo = {d for d in dirty if d in built and d < today}
    first = await _first_day(session, tz)
    missing = (
        sorted((d for d in _days(first, today - timedelta(days=1)) if d not in built), reverse=True)
        if first
        else []
    )
    todo.update(missing[:BUILD_PER_RUN])
    rows = 0
    for d in sorted(todo):
        rows += await build_day(session, tz, d)
    for i in range(0, len(ids), 500):
        await session.execute(delete(RollupDirty).where(RollupDirty.id.in_(ids[i : i + 500])))
    return {"days": len(todo), "rows": rows, "dirty": len(ids)}


async def sweep(rt: Any, session: AsyncSession, now: datetime) -> int:
    """EXTRA_SWEEPS entry (leader-only through the case scheduler); returns the days built."""
    return (await refresh(session, rt.config.zone, now))["days"]
