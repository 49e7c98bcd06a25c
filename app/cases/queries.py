"""Who sees which case, lists and the supervision board (how a case is shown to each role: app.cases.views)."""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import BindParameter, Integer, Select, String, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from app.auth.models import Role, User
from app.auth.service import sees_platform
from app.cases import workflow as wf
from app.cases.context import CaseContext
from app.cases.masking import normalise_phone
from app.cases.models import Case, CaseEvent, CaseHandover, CaseUnit
from app.db import Database, RowView

# a case as the ORM loaded it (to change it) or as a plain row (only to show it: GET case, the list)
CaseLike = Case | RowView

DUE_STATES = ("intake", "returned", "reopened", "dispatched", "signed", "in_progress", "extension_requested")


def can_see(user: User, case: CaseLike, co_units: list[str], watchers: list[str] | tuple[str, ...] = ()) -> bool:
    """``watchers``: the platforms that handed the case over earlier (they keep seeing its status)."""
    if user.role is Role.admin:
        return True
    if user.role is Role.unit:
        return bool(user.unit_code) and (case.lead_unit == user.unit_code or user.unit_code in co_units)
    return sees_platform(user, case.platform) or user.platform in (case.transfer_to, *watchers)


def side_of(user: User | None, case: CaseLike) -> str | None:
    """An office user's side of the case (workflow.OWNER, RECEIVER, WATCHER); None for units, the
    system and administrators (who may act on either side)."""
    if user is None or user.role in (Role.unit, Role.admin):
        return None
    if case.status == wf.HANDED_OVER and user.platform == case.transfer_to:
        return wf.RECEIVER
    return wf.OWNER if sees_platform(user, case.platform) else wf.WATCHER


async def watchers_of(session: AsyncSession, case_id: int) -> list[str]:
    rows = await session.scalars(select(CaseHandover.from_platform).where(CaseHandover.case_id == case_id))
    return list(dict.fromkeys(rows))


def scoped(q: Select[Any], user: User) -> Select[Any]:
    if user.role is Role.admin:
        return q
    if user.role is Role.unit:
        mine = select(CaseUnit.case_id).where(CaseUnit.unit_code == (user.unit_code or "\x00"))
        return q.where(or_(Case.lead_unit == (user.unit_code or "\x00"), Case.id.in_(mine)))
    if sees_platform(user, None):
        return q
    return q.where(Case.platform == user.platform)


class json_codes(FunctionElement[str]):
    """A JSON array of a string column's values, in id order: json_agg on PostgreSQL,
    json_group_array on SQLite (over rows the subquery already ordered)."""

    type = String()
    inherit_cache = True
    name = "json_codes"


@compiles(json_codes, "postgresql")
def _json_codes_pg(element: json_codes, compiler: Any, **kw: Any) -> str:
    value, order = list(element.clauses)
    return f"json_agg({compiler.process(value, **kw)} ORDER BY {compiler.process(order, **kw)})::text"


@compiles(json_codes)
def _json_codes_default(element: json_codes, compiler: Any, **kw: Any) -> str:
    value, _ = list(element.clauses)
    return f"json_group_array({compiler.process(value, **kw)})"


def co_units_column() -> Any:
    """The case's co-units as a correlated scalar subquery (a JSON array, or NULL when none)."""
    return (
        select(json_codes(CaseUnit.unit_code, CaseUnit.id))
        .where(CaseUnit.case_id == Case.id, CaseUnit.role == "co")
        .correlate(Case)
        .scalar_subquery()
    )


def _codes(raw: str | None) -> list[str]:
    return list(_parsed_codes(raw)) if raw else []


@lru_cache(maxsize=1024)
def _parsed_codes(raw: str) -> tuple[str, ...]:  # the same few sets of co-units come back on every page
    return tuple(str(c) for c in json.loads(raw))


def watchers_column() -> Any:
    """The platforms that handed the case over earlier, as a correlated scalar subquery (JSON array)."""
    return (
        select(json_codes(CaseHandover.from_platform, CaseHandover.id))
        .where(CaseHandover.case_id == Case.id)
        .correlate(Case)
        .scalar_subquery()
    )


_CASES = Case.__table__
_EVENTS = CaseEvent.__table__
_CASE_KEYS = tuple(c.key for c in _CASES.c)
_EVENT_KEYS = tuple(c.key for c in _EVENTS.c)


def _case_with_events_statement() -> Select[Any]:
    return (
        select(
            *_CASES.c,
            co_units_column().label("co_units_json"),
            watchers_column().label("watchers_json"),
            *(c.label(f"ev_{c.key}") for c in _EVENTS.c),
        )
        .select_from(_CASES.outerjoin(_EVENTS, _EVENTS.c.case_id == _CASES.c.id))
        .where(_CASES.c.number == bindparam("number"))
        .order_by(_EVENTS.c.id)
    )


# Built once, values as bound parameters: SQLAlchemy memoizes a statement's cache key on the statement
# object, so a statement built per request is built and keyed per request — on GET case that cost
# as much as running the query (docs/adr/2026-12-02-request-cost.md).
_CASE_WITH_EVENTS = _case_with_events_statement()


async def case_with_events(
    db: Database, number: str
) -> tuple[RowView, list[str], list[str], list[RowView]] | None:
    """A case, its co-units, its watchers and its audit log (in order), in ONE query (GET case), read
    as plain rows: what GET case shows, without building ORM instances it never changes."""
    rows = await db.read(_CASE_WITH_EVENTS, {"number": number})
    if not rows:
        return None
    # positional: the case's columns, co_units_json, watchers_json, then the event's (_case_with_events_statement)
    n, first = len(_CASE_KEYS), rows[0]
    case = RowView(dict(zip(_CASE_KEYS, first, strict=False)))
    co, watchers = _codes(first[n]), list(dict.fromkeys(_codes(first[n + 1])))
    ev = n + 2
    events = [RowView(dict(zip(_EVENT_KEYS, r[ev:], strict=True))) for r in rows if r[ev] is not None]
    return case, co, watchers, events


async def co_units_of(session: AsyncSession, case_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {i: [] for i in case_ids}
    if not case_ids:
        return out
    rows = await session.execute(
        select(CaseUnit.case_id, CaseUnit.unit_code).where(
            CaseUnit.case_id.in_(case_ids), CaseUnit.role == "co"
        )
    )
    for cid, code in rows:
        out[cid].append(code)
    return out


async def list_cases(
    db: Database,
    user: User,
    *,
    status: str | None = None,
    citizen_phone: str | None = None,
    unit: str | None = None,
    platform: str | None = None,
    overdue: bool | None = None,
    number: str | None = None,
    words: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[tuple[RowView, list[str]]], int]:
    """One page of the cases the user may see (plain rows, read without the ORM), each with its
    co-units, and the total. ``number``: the
    case number or its beginning; ``words``: every word (space-separated) in the summary, the detail
    or the answer; ``created_from``/``created_to``: [from, to)."""
    scope = _scope_of(user)
    page_q, count_q = _list_statements(
        scope, bool(number), len((words or "").split()[:10]), created_from is not None, created_to is not None,
        bool(status), bool(citizen_phone), bool(unit), bool(platform), overdue is True,
    )  # fmt: skip
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if scope == "unit":
        params["scope_unit"] = user.unit_code or "\x00"
    elif scope == "platform":
        params["scope_platform"] = user.platform
    if number:
        params["number"] = _like(number.strip()) + "%"
    for i, w in enumerate((words or "").split()[:10]):
        params[f"w{i}"] = "%" + _like(w) + "%"
    if created_from is not None:
        params["created_from"] = created_from
    if created_to is not None:
        params["created_to"] = created_to
    if status:
        params["statuses"] = status.split(",")
    if citizen_phone:
        params["citizen_phone"] = normalise_phone(citizen_phone)
    if unit:
        params["unit"] = unit
    if platform:
        params["platform"] = platform
    # the page, each row's co-units and the total in ONE query (the count as an InitPlan)
    # positional: the case's columns in _CASE_KEYS order, then co_units_json and total (_list_statements)
    n = len(_CASE_KEYS)
    page = await db.read(page_q, params)
    if page:
        total = int(page[0][n + 1])
    elif offset:  # past the end: the page says nothing about the total
        total = int((await db.read(count_q, params))[0][0] or 0)
    else:
        total = 0
    return [(RowView(dict(zip(_CASE_KEYS, r, strict=False))), _codes(r[n])) for r in page], total


def _scope_of(user: User) -> str:
    """Which of :func:`scoped`'s filters applies to the user: all, unit or platform."""
    if user.role is Role.admin:
        return "all"
    if user.role is Role.unit:
        return "unit"
    return "all" if sees_platform(user, None) else "platform"


@lru_cache(maxsize=512)
def _list_statements(
    scope: str, number: bool, words: int, created_from: bool, created_to: bool,
    status: bool, phone: bool, unit: bool, platform: bool, overdue: bool,
) -> tuple[Select[Any], Select[Any]]:  # fmt: skip
    """The case list's page query and its count for one combination of filters, every value a bound
    parameter: built (and keyed) once per combination, not per request (see _CASE_WITH_EVENTS). The
    filters are :func:`scoped`'s and :func:`list_cases`'s.

    The page picks its ids first (newest first, through the created_at index, LIMIT applied there),
    then reads only those rows with their co-units; the total is a separate count over the same
    filters, run once (an InitPlan): the co-units subquery runs per row shown, not per case visible,
    and nothing sorts every visible case's full row (count(*) OVER () did both)."""
    conds = _list_conditions(scope, number, words, created_from, created_to, status, phone, unit, platform, overdue)
    newest_first = (Case.created_at.desc(), Case.id.desc())
    page_ids = (
        select(Case.id)
        .where(*conds)
        .order_by(*newest_first)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
        .correlate(None)
    )
    count_q = select(func.count()).select_from(Case).where(*conds).correlate(None)
    page = (
        select(*_CASES.c, co_units_column().label("co_units_json"), count_q.scalar_subquery().label("total"))
        .where(Case.id.in_(page_ids))
        .order_by(*newest_first)
    )
    return page, count_q


def _list_conditions(
    scope: str, number: bool, words: int, created_from: bool, created_to: bool,
    status: bool, phone: bool, unit: bool, platform: bool, overdue: bool,
) -> list[Any]:  # fmt: skip
    conds: list[Any] = []
    if scope == "unit":
        mine = select(CaseUnit.case_id).where(CaseUnit.unit_code == bindparam("scope_unit"))
        conds.append(or_(Case.lead_unit == bindparam("scope_unit"), Case.id.in_(mine)))
    elif scope == "platform":
        conds.append(Case.platform == bindparam("scope_platform"))
    if number:
        conds.append(Case.number.like(bindparam("number"), escape="\\"))
    for i in range(words):
        pat: BindParameter[str] = bindparam(f"w{i}")
        conds.append(
            or_(
                Case.summary.like(pat, escape="\\"),
                Case.detail.like(pat, escape="\\"),
                Case.answer.like(pat, escape="\\"),
            )
        )
    if created_from:
        conds.append(Case.created_at >= bindparam("created_from"))
    if created_to:
        conds.append(Case.created_at < bindparam("created_to"))
    if status:
        conds.append(Case.status.in_(bindparam("statuses", expanding=True)))
    if phone:
        conds.append(Case.citizen_phone == bindparam("citizen_phone"))
    if unit:
        conds.append(Case.lead_unit == bindparam("unit"))
    if platform:
        conds.append(Case.platform == bindparam("platform"))
    if overdue:
        conds.append(Case.overdue_at.is_not(None))
    return conds


def _like(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern (its % and _ match only themselves)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def board(session: AsyncSession, user: User, ctx: CaseContext, now: datetime) -> dict[str, Any]:
    """督办 board: overdue (red), near-due (yellow), pending extension requests."""
    clock = ctx.clock()
    threshold = clock.near_threshold(now)
    base = scoped(select(Case), user).where(Case.status.in_(DUE_STATES))
    red = list(await session.scalars(base.where(Case.due_at < now).order_by(Case.due_at).limit(200)))
    yellow = list(
        await session.scalars(
            base.where(Case.due_at >= now, Case.due_at <= threshold).order_by(Case.due_at).limit(200)
        )
    )
    ext = list(
        await session.scalars(
            scoped(select(Case), user).where(Case.status == wf.EXTENSION).order_by(Case.updated_at).limit(200)
        )
    )
    warnings = list(clock.warnings) + ctx.config.calendar.coverage_warnings(now.astimezone(ctx.zone).date())
    return {
        "red": red,
        "yellow": yellow,
        "extension_requests": ext,
        "threshold": threshold,
        "warnings": list(dict.fromkeys(warnings)),
    }


async def first_contact(session: AsyncSession, start: datetime, end: datetime, platform: str | None) -> dict[str, Any]:
    """Cases taken in [start, end) and how many were answered on the spot (直接答复), of which from the
    knowledge base (the ``answer_kb`` transition, citing an article)."""
    q = (
        select(CaseEvent.action, func.count())
        .select_from(CaseEvent)
        .join(Case, Case.id == CaseEvent.case_id)
        .where(CaseEvent.action.in_(("create", "answer", "answer_kb")), CaseEvent.at >= start, CaseEvent.at < end)
        .group_by(CaseEvent.action)
    )
    if platform is not None:
        q = q.where(Case.platform == platform)
    n = {a: int(c) for a, c in (await session.execute(q)).all()}
    created, direct = n.get("create", 0), n.get("answer", 0) + n.get("answer_kb", 0)
    return {
        "created": created,
        "answered_directly": direct,
        "answered_from_kb": n.get("answer_kb", 0),
        "direct_rate": round(direct / created, 4) if created else None,
    }
