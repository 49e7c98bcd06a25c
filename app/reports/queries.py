"""Report SQL: counters per (local day, group) summed by the database, and the drill-down rows.

One place defines each condition (answered within 15 s, finished on time, returned …) as an SQL
expression; the aggregation sums it and the drill-down filters on it, so a figure and its list agree.
Local days: PostgreSQL converts with the zone itself; SQLite adds the zone's UTC offset at the start of
the range (Chinese zones have no daylight saving). No commits here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    exists,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from app.calls import models as cm
from app.calls.models import Call
from app.cases import workflow as wf
from app.cases.models import Case, CaseEvent
from app.reports.figures import REPEAT_WINDOW_DAYS, SERVICE_LEVEL_S, CallCounts, CaseCounts

CASE_DIMS = ("channel", "unit", "category")
DIMS = ("none", "platform", "hotline", *CASE_DIMS)


@dataclass(frozen=True)
class Filters:
    start: date  # first local day, inclusive
    end: date  # last local day, inclusive
    platforms: tuple[str, ...] | None = None  # None: every platform
    hotline: str | None = None
    channel: str | None = None
    unit: str | None = None
    category: str | None = None  # a category code: its subcategories are included

    @property
    def calls_apply(self) -> bool:
        """Call figures exist only where calls can be told apart: not by unit, category or a channel
        other than the telephone (a call has none of these; its case has)."""
        return self.unit is None and self.category is None and self.channel in (None, "phone")


def bounds(f: Filters, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(f.start, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(f.end + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end


def dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def local_day(session: AsyncSession, col: Any, tz: ZoneInfo, at: datetime) -> ColumnElement[Any]:
    if dialect(session) == "postgresql":
        return func.date(func.timezone(tz.key, col))
    offset = at.astimezone(tz).utcoffset() or timedelta(0)
    return func.date(col, f"{int(offset.total_seconds() // 60):+d} minutes")


def as_date(v: Any) -> date:
    return v if isinstance(v, date) else date.fromisoformat(str(v))


# ---- calls -------------------------------------------------------------------------------------

ANSWERED = Call.answered_at.is_not(None)
WITHIN_15S = and_(ANSWERED, Call.hold_s <= SERVICE_LEVEL_S)
ABANDONED = and_(Call.answered_at.is_(None), Call.outcome == cm.ABANDONED)
CALL_SETS: dict[str, ColumnElement[bool]] = {
    "offered": literal(True),
    "answered": ANSWERED,
    "within_15s": WITHIN_15S,
    "not_within_15s": not_(WITHIN_15S),
    "abandoned": ABANDONED,
}


def _calls_where(q: Select[Any], f: Filters, start: datetime, end: datetime) -> Select[Any]:
    q = q.where(
        Call.direction == "in",
        Call.is_test.is_(False),
        Call.queued_at.is_not(None),
        Call.arrived_at >= start,
        Call.arrived_at < end,
    )
    if f.platforms is not None:
        q = q.where(Call.platform.in_(f.platforms))
    if f.hotline is not None:
        q = q.where(Call.source_hotline == f.hotline)
    return q


def _n(cond: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((cond, 1), else_=0))


async def call_counts(
    session: AsyncSession, f: Filters, tz: ZoneInfo, by: str
) -> list[tuple[date, str | None, str | None, CallCounts]]:
    """(local day, platform, dimension value, counters) for the calls the filters select."""
    start, end = bounds(f, tz)
    day = local_day(session, Call.arrived_at, tz, start)
    dim = Call.source_hotline if by == "hotline" else literal(None)
    q = select(day, Call.platform, dim, *call_aggregates())
    q = _calls_where(q, f, start, end).group_by(day, Call.platform, dim)
    return [(as_date(r[0]), r[1], r[2], call_counts_of(r[3:])) for r in (await session.execute(q)).all()]


def call_aggregates() -> list[ColumnElement[Any]]:
    """The CallCounts fields, in order, as SQL aggregates over the calls (also the rollup's source)."""
    return [
        func.count(),
        _n(ANSWERED),
        _n(WITHIN_15S),
        _n(ABANDONED),
        func.sum(case((ANSWERED, Call.hold_s))),
        func.count(case((ANSWERED, Call.hold_s))),
        func.sum(case((ANSWERED, Call.talk_s))),
        func.count(case((ANSWERED, Call.talk_s))),
    ]


def call_counts_of(r: Sequence[Any]) -> CallCounts:
    return CallCounts(
        int(r[0] or 0), int(r[1] or 0), int(r[2] or 0), int(r[3] or 0),
        float(r[4] or 0), int(r[5] or 0), float(r[6] or 0), int(r[7] or 0),
    )  # fmt: skip


def calls_query(f: Filters, tz: ZoneInfo, subset: str) -> Select[Any]:
    start, end = bounds(f, tz)
    return _calls_where(select(Call), f, start, end).where(CALL_SETS[subset])


# ---- cases -------------------------------------------------------------------------------------

DIRECT = Case.status == wf.ANSWERED
FINISHED = or_(DIRECT, Case.replied_at.is_not(None))
ON_TIME = or_(
    DIRECT,
    and_(Case.replied_at.is_not(None), or_(Case.handle_due.is_(None), Case.replied_at <= Case.handle_due)),
)
RATED = Case.rating.is_not(None)
SATISFIED = Case.rating.in_((1, 2))
DISPATCHED = Case.dispatched_at.is_not(None)
RETURNED = exists().where(CaseEvent.case_id == Case.id, CaseEvent.action == "return")
EXTENDED = Case.extension_count > 0


def _repeat_ids(session: AsyncSession, start: datetime, end: datetime) -> Any:
    """Cases in [start, end) whose citizen had another case in the REPEAT_WINDOW_DAYS before."""
    window = timedelta(days=REPEAT_WINDOW_DAYS)
    prev = func.lag(Case.created_at).over(
        partition_by=Case.citizen_phone, order_by=(Case.created_at, Case.id)
    )
    inner = (
        select(Case.id.label("id"), Case.created_at.label("at"), prev.label("prev_at"))
        .where(Case.citizen_phone.is_not(None), Case.citizen_phone != "")
        .where(Case.created_at >= start - window, Case.created_at < end)
        .subquery()
    )
    if dialect(session) == "postgresql":
        near = inner.c.prev_at >= inner.c.at - literal_column(f"interval '{REPEAT_WINDOW_DAYS} days'")
    else:
        near = inner.c.prev_at >= func.datetime(inner.c.at, f"-{REPEAT_WINDOW_DAYS} days")
    return select(inner.c.id).where(inner.c.prev_at.is_not(None), near, inner.c.at >= start)


CASE_SETS_STATIC: dict[str, ColumnElement[bool]] = {
    "cases": literal(True),
    "finished": FINISHED,
    "unfinished": not_(FINISHED),
    "late": and_(FINISHED, not_(ON_TIME)),
    "direct": DIRECT,
    "dissatisfied": Case.rating == 3,
    "returned": and_(DISPATCHED, RETURNED),
    "extended": and_(DISPATCHED, EXTENDED),
}
CASE_SETS = (*CASE_SETS_STATIC, "repeat")


def category_top(col: Any) -> ColumnElement[Any]:
    return func.substr(col, 1, 2)


def case_dim(by: str) -> Any:
    if by == "channel":
        return Case.channel
    if by == "unit":
        return Case.lead_unit
    if by == "category":
        return category_top(Case.category_code)
    if by == "hotline":
        return Case.source_hotline
    return literal(None)


def _cases_where(q: Select[Any], f: Filters, start: datetime, end: datetime) -> Select[Any]:
    q = q.where(
        Case.created_at >= start,
        Case.created_at < end,
        Case.status.not_in((wf.TRANSFERRED, wf.MERGED)),
        or_(Case.call_uniqueid.is_(None), not_(Case.call_uniqueid.startswith(cm.TEST_CALL_PREFIX))),
    )
    if f.platforms is not None:
        q = q.where(Case.platform.in_(f.platforms))
    if f.channel is not None:
        q = q.where(Case.channel == f.channel)
    if f.unit is not None:
        q = q.where(Case.lead_unit == f.unit)
    if f.category is not None:
        q = q.where(Case.category_code.startswith(f.category))
    if f.hotline is not None:
        q = q.where(Case.source_hotline == f.hotline)
    return q


async def case_counts(
    session: AsyncSession, f: Filters, tz: ZoneInfo, by: str
) -> list[tuple[date, str | None, str | None, CaseCounts]]:
    start, end = bounds(f, tz)
    day = local_day(session, Case.created_at, tz, start)
    dim = case_dim(by)
    rep = _repeat_ids(session, start, end).subquery()
    q = (
        select(day, Case.platform, dim, *case_aggregates(rep))
        .select_from(Case)
        .outerjoin(rep, rep.c.id == Case.id)
    )
    q = _cases_where(q, f, start, end).group_by(day, Case.platform, dim)
    return [
        (as_date(r[0]), r[1], r[2], CaseCounts(*(int(v or 0) for v in r[3:])))
        for r in (await session.execute(q)).all()
    ]


def case_aggregates(rep: Any) -> list[ColumnElement[Any]]:
    """The CaseCounts fields, in order, as SQL aggregates over the cases outer-joined to ``rep`` (the
    repeat contacts' ids, _repeat_ids); also the rollup's source."""
    return [
        func.count(),
        _n(DIRECT),
        _n(FINISHED),
        _n(ON_TIME),
        _n(RATED),
        _n(SATISFIED),
        _n(DISPATCHED),
        _n(and_(DISPATCHED, RETURNED)),
        _n(and_(DISPATCHED, EXTENDED)),
        _n(rep.c.id.is_not(None)),
    ]


def repeat_ids(session: AsyncSession, start: datetime, end: datetime) -> Any:
    return _repeat_ids(session, start, end)


def calls_where(q: Select[Any], f: Filters, start: datetime, end: datetime) -> Select[Any]:
    return _calls_where(q, f, start, end)


def cases_where(q: Select[Any], f: Filters, start: datetime, end: datetime) -> Select[Any]:
    return _cases_where(q, f, start, end)


def cases_query(session: AsyncSession, f: Filters, tz: ZoneInfo, subset: str) -> Select[Any]:
    start, end = bounds(f, tz)
    q = _cases_where(select(Case), f, start, end)
    if subset == "repeat":
        return q.where(Case.id.in_(_repeat_ids(session, start, end)))
    return q.where(CASE_SETS_STATIC[subset])


async def page_of(
    session: AsyncSession, q: Select[Any], order: Sequence[Any], limit: int, offset: int
) -> tuple[int, list[Any]]:
    total = int(await session.scalar(select(func.count()).select_from(q.subquery())) or 0)
    rows = list(await session.scalars(q.order_by(*order).limit(limit).offset(offset)))
    return total, rows
