"""Case API. Every route checks the role and the case's visibility (404 for cases you may not see);
the router commits, then publishes ``case.created`` / ``case.transition``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field
from pydantic_core import to_json
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from app.auth.deps import reader_with_roles, require_roles
from app.auth.models import Role, User
from app.bounds import MAX_OFFSET
from app.cases import events as ev_build
from app.cases import queries, service, views
from app.cases import workflow as wf
from app.cases.context import CaseContext, of_runtime
from app.cases.models import Case, CaseEvent
from app.cases.rules import Category
from app.cases.schemas import (
    BoardOut,
    CaseCreate,
    CaseCreated,
    CaseDetail,
    CaseList,
    CaseOut,
    DuplicateOut,
    EventOut,
    MergeIn,
    RatingIn,
    RemindIn,
    TransitionIn,
)
from app.db import RowView, row_values, utcnow
from app.deps import HubDep, SessionDep
from app.events import EventHub, commit_and_publish
from app.query_model import openapi_parameters, query_model
from app.runtime import Runtime, get_runtime

router = APIRouter(prefix="/api/cases", tags=["cases"])
Anyone = Annotated[User, Depends(require_roles(Role.agent, Role.supervisor, Role.admin, Role.unit))]
# the hot reads' flat dependency: the same roles, no request-long session (app.auth.deps.reading_user)
AnyoneReading = Annotated[User, Depends(reader_with_roles(Role.agent, Role.supervisor, Role.admin, Role.unit))]
Office = Annotated[User, Depends(require_roles(Role.agent, Role.supervisor, Role.admin))]
Manager = Annotated[User, Depends(require_roles(Role.supervisor, Role.admin))]


async def _ctx(runtime: Annotated[Runtime, Depends(get_runtime)]) -> CaseContext:
    return of_runtime(runtime)


Ctx = Annotated[CaseContext, Depends(_ctx)]


async def _visible(session: AsyncSession, number: str, user: User) -> tuple[Case, list[str]]:
    case = await service.get_by_number(session, number)
    co = await service.unit_codes(session, case) if case is not None else []
    watchers = await queries.watchers_of(session, case.id) if case is not None else []
    if case is None or not queries.can_see(user, case, co, watchers):
        raise HTTPException(404, f"没有工单 {number}")
    return case, co


def _event_out(ev: CaseEvent | RowView) -> EventOut:
    values = row_values(EventOut, ev)
    values["action_label"] = "受理" if ev.action == "create" else wf.label_of(ev.action)
    return EventOut.model_validate(values)


@router.get("/categories", response_model=list[Category])
async def categories(user: Anyone, ctx: Ctx) -> list[Category]:
    return ctx.rules.categories


@router.get("/workflow")
async def workflow_table(user: Anyone) -> list[dict[str, Any]]:
    """The transition table: from state, action, to state, roles allowed, guards, effects."""
    return wf.table()


@router.get("/vocabulary")
async def vocabulary(user: Anyone, ctx: Ctx) -> dict[str, Any]:
    """What the pages name: the states with their Chinese labels, the platforms, the case types."""
    return {
        "states": [{"code": s, "label": wf.LABELS.get(s, s)} for s in wf.STATES],
        "platforms": [{"code": p.code, "name": p.short_name} for p in ctx.config.platforms],
        "types": {"consultation": "咨询", "help": "求助", "suggestion": "建议", "complaint": "投诉",
                  "report": "举报", "praise": "表扬"},
    }  # fmt: skip


@router.post("", response_model=CaseCreated, status_code=201)
async def create(data: CaseCreate, session: SessionDep, hub: HubDep, user: Office, ctx: Ctx) -> CaseCreated:
    try:
        case = await service.create_case(session, data, user, ctx=ctx)
    except service.CaseError as e:
        raise HTTPException(e.status, str(e)) from None
    dups = await service.find_duplicates(session, case)
    now = utcnow()
    out = CaseCreated(
        case=views.to_out(case, user, ctx, now, []),
        possible_duplicates=[
            DuplicateOut(number=d.number, status=d.status, summary=d.summary, created_at=d.created_at)
            for d in dups
            if queries.can_see(user, d, [])
        ],
    )
    await commit_and_publish(session, hub, [ev_build.created(case)])
    return out


class CaseQuery(BaseModel):
    """The case list's filters (query parameters), validated as one model (app.query_model): cheaper
    per request than eleven separate parameters, the same names, bounds and OpenAPI description."""

    status: str | None = Field(None, description="states, comma-separated")
    citizen_phone: str | None = None
    unit: str | None = None
    platform: str | None = None
    overdue: bool | None = None
    number: str | None = Field(None, max_length=32, description="case number or its beginning")
    q: str | None = Field(None, max_length=200, description="words in the summary, detail or answer")
    created_from: date | None = Field(None, description="taken on or after this day (local)")
    created_to: date | None = Field(None, description="taken on or before this day (local)")
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description=f"rows to skip (at most {MAX_OFFSET})")


@router.get("", response_model=CaseList, openapi_extra=openapi_parameters(CaseQuery))
async def list_cases(
    request: Request, user: AnyoneReading, f: Annotated[CaseQuery, Depends(query_model(CaseQuery))]
) -> Response:
    """Case search: by status (comma-separated), phone, unit, platform, number, words and dates."""
    status, citizen_phone, unit, platform, overdue = f.status, f.citizen_phone, f.unit, f.platform, f.overdue
    number, q, created_from, created_to, limit, offset = f.number, f.q, f.created_from, f.created_to, f.limit, f.offset
    if citizen_phone and user.role is Role.unit:
        raise HTTPException(403, "承办单位账号不能按电话号码查询工单")
    if status and not set(status.split(",")) <= set(wf.STATES):
        raise HTTPException(422, f"未知的状态（status）{status!r}；可选：{', '.join(wf.STATES)}")
    if created_from and created_to and created_to < created_from:
        raise HTTPException(422, "结束时间（created_to）早于开始时间（created_from）")

    def day_start(d: date) -> datetime:
        return datetime.combine(d, time.min, tzinfo=ctx.zone)

    rt = request.app.state.runtime
    ctx = of_runtime(rt)
    page, total = await queries.list_cases(
        rt.db,
        user,
        status=status,
        citizen_phone=citizen_phone,
        unit=unit,
        platform=platform,
        overdue=overdue,
        number=number,
        words=q,
        created_from=day_start(created_from) if created_from else None,
        created_to=day_start(created_to + timedelta(days=1)) if created_to else None,
        limit=limit,
        offset=offset,
    )
    now = utcnow()
    threshold = ctx.clock().near_threshold(now)
    items = [views.out_fields(views.shown(r, user, ctx, now, co, threshold)) for r, co in page]
    return Response(to_json({"items": items, "total": total}), media_type="application/json")


@router.get("/board", response_model=BoardOut)
async def board(session: SessionDep, user: Office, ctx: Ctx, now: datetime | None = None) -> BoardOut:
    now = now or utcnow()
    if now.tzinfo is None:
        raise HTTPException(422, "now 须带时区偏移（如 +08:00）")
    b = await queries.board(session, user, ctx, now)
    every = b["red"] + b["yellow"] + b["extension_requests"]
    co = await queries.co_units_of(session, [c.id for c in every])

    def outs(rows: list[Case]) -> list[CaseOut]:
        return [views.to_out(r, user, ctx, now, co[r.id], b["threshold"]) for r in rows]

    return BoardOut(
        now=now,
        near_threshold=b["threshold"],
        red=outs(b["red"]),
        yellow=outs(b["yellow"]),
        extension_requests=outs(b["extension_requests"]),
        warnings=b["warnings"],
    )


@router.get("/{number}", response_model=CaseDetail)
async def get_case(number: str, request: Request, user: AnyoneReading) -> Response:
    rt = request.app.state.runtime
    found = await queries.case_with_events(rt.db, number)  # one query: case, co-units, watchers, log
    if found is None or not queries.can_see(user, found[0], found[1], found[2]):
        raise HTTPException(404, f"没有工单 {number}")
    case, co, _, events = found
    return _detail_json(case, co, events, user, of_runtime(rt))


async def _detail(
    session: AsyncSession, case: Case, user: User, ctx: CaseContext, co: list[str] | None = None
) -> Response:
    if co is None:
        co = await service.unit_codes(session, case)
    return _detail_json(case, co, await service.events_of(session, case), user, ctx)


def _detail_json(
    case: queries.CaseLike, co: list[str], events: Sequence[CaseEvent | RowView], user: User, ctx: CaseContext
) -> Response:
    out = views.to_out(case, user, ctx, utcnow(), co, cls=CaseDetail)
    assert isinstance(out, CaseDetail)
    out.events = [_event_out(e) for e in events]
    return _json(out)


def _json(model: BaseModel) -> Response:
    """The model as JSON, without FastAPI validating it a second time (it was built validated)."""
    return Response(model.model_dump_json(), media_type="application/json")


@router.get("/{number}/events", response_model=list[EventOut])
async def case_events(number: str, session: SessionDep, user: Anyone) -> list[EventOut]:
    case, _ = await _visible(session, number, user)
    return [_event_out(e) for e in await service.events_of(session, case)]


async def _apply(
    session: AsyncSession, hub: EventHub, user: User, ctx: CaseContext, number: str, fn: Any
) -> Response:
    case, _ = await _visible(session, number, user)
    try:
        events = await fn(case)
    except service.IllegalTransition as e:
        await session.rollback()
        raise HTTPException(403 if e.forbidden else 409, str(e)) from None
    except service.CaseError as e:
        await session.rollback()
        raise HTTPException(e.status, str(e)) from None
    except StaleDataError:
        await session.rollback()
        raise HTTPException(409, f"工单 {number} 刚被他人修改，请刷新后重试") from None
    await commit_and_publish(session, hub, ev_build.of_audits(events, case))
    return await _detail(session, case, user, ctx)


@router.post(
    "/{number}/transitions",
    response_model=CaseDetail,
    responses={409: {"description": "illegal in this state; nothing changed"}},
)
async def do_transition(
    number: str, body: TransitionIn, session: SessionDep, hub: HubDep, user: Anyone, ctx: Ctx
) -> Response:
    """Apply one action of the transition table (see GET /api/cases/workflow)."""
    if body.action == "rate":
        if body.rating is None:
            raise HTTPException(422, "rate needs rating 1 (满意), 2 (基本满意) or 3 (不满意)")
        return await rate(number, RatingIn(rating=body.rating, note=body.note), session, hub, user, ctx)
    if body.action == "merge":
        raise HTTPException(422, "合并工单请用 POST /api/cases/{number}/merge")

    async def fn(case: Case) -> list[CaseEvent]:
        return [
            await service.transition(
                session,
                case,
                body.action,
                user,
                body.note,
                ctx=ctx,
                unit_code=body.unit_code,
                co_units=body.co_units,
                target_platform=body.target_platform,
            )
        ]

    return await _apply(session, hub, user, ctx, number, fn)


@router.post("/{number}/rating", response_model=CaseDetail)
async def rate(
    number: str, body: RatingIn, session: SessionDep, hub: HubDep, user: Office, ctx: Ctx
) -> Response:
    async def fn(case: Case) -> list[CaseEvent]:
        return await service.record_rating(session, case, body.rating, user, body.note, ctx=ctx)

    return await _apply(session, hub, user, ctx, number, fn)


@router.post("/{number}/remind", response_model=CaseDetail)
async def remind(
    number: str, body: RemindIn, session: SessionDep, hub: HubDep, user: Manager, ctx: Ctx
) -> Response:
    """催办: a reminder to the lead unit through the outbox, recorded in the audit log."""

    async def fn(case: Case) -> list[CaseEvent]:
        return [await service.transition(session, case, "remind", user, body.note or "请抓紧办理", ctx=ctx)]

    return await _apply(session, hub, user, ctx, number, fn)


@router.post("/{number}/merge", response_model=CaseDetail)
async def merge(
    number: str, body: MergeIn, session: SessionDep, hub: HubDep, user: Office, ctx: Ctx
) -> Response:
    """Merge this (duplicate, still in intake) case into another open case."""
    target, _ = await _visible(session, body.into, user)

    async def fn(case: Case) -> list[CaseEvent]:
        return [await service.merge(session, case, target, user, ctx=ctx)]

    return await _apply(session, hub, user, ctx, number, fn)
