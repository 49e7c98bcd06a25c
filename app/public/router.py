"""Public, unauthenticated views of cases: status lookup by number, published cases, and Open311
GeoReport v2 (read-only) over published cases. Personal data is masked in every field here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import JSONResponse
from sqlalchemy import select

from app.bounds import Offset
from app.cases import workflow as wf
from app.cases.context import CaseContext, of_runtime
from app.cases.masking import scrub
from app.cases.models import Case
from app.deps import SessionDep
from app.runtime import Runtime, get_runtime
from app.units.models import Unit

router = APIRouter(tags=["public"])
OPEN311 = "/open311/v2"


async def _ctx(runtime: Annotated[Runtime, Depends(get_runtime)]) -> CaseContext:
    return of_runtime(runtime)


Ctx = Annotated[CaseContext, Depends(_ctx)]


def _text(case: Case, value: str | None) -> str:
    return scrub(value, [case.citizen_name]) or ""


def public_case(case: Case, ctx: CaseContext, unit_names: dict[str, str]) -> dict[str, Any]:
    """A case as the public sees it: no name, no phone; free text scrubbed; content only once published."""
    out: dict[str, Any] = {
        "number": case.number,
        "status": case.status,
        "status_label": wf.LABELS.get(case.status, case.status),
        "type": case.type,
        "category": ctx.rules.category_names().get(case.category_code or ""),
        "created_at": case.created_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
        "published": case.published,
    }
    if case.published:
        out.update(
            summary=_text(case, case.summary),
            detail=_text(case, case.detail),
            answer=_text(case, case.answer),
            unit=unit_names.get(case.lead_unit or "", None),
            rating=case.rating,
        )
    return out


async def _unit_names(session: SessionDep) -> dict[str, str]:
    return {u.code: u.name for u in await session.scalars(select(Unit))}


@router.get("/public/cases/{number}")
async def public_lookup(number: str, session: SessionDep, ctx: Ctx) -> dict[str, Any]:
    """A citizen checks the progress of their case by its number (content shown only if published)."""
    case = await session.scalar(select(Case).where(Case.number == number))
    if case is None or case.status == wf.MERGED and not case.published:
        raise HTTPException(404, f"没有工单 {number}")
    return public_case(case, ctx, await _unit_names(session))


@router.get("/public/cases")
async def public_list(
    session: SessionDep,
    ctx: Ctx,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    rows = list(
        await session.scalars(
            select(Case)
            .where(Case.published.is_(True))
            .order_by(Case.closed_at.desc(), Case.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )
    names = await _unit_names(session)
    return {"items": [public_case(c, ctx, names) for c in rows]}


# ------------------------------------------------------------------------------------------- Open311
def _iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z") if dt else None


def _request(case: Case, ctx: CaseContext, names: dict[str, str]) -> dict[str, Any]:
    cats = ctx.rules.category_names()
    return {
        "service_request_id": case.number,
        "status": "closed" if case.status in wf.TERMINAL else "open",
        "status_notes": _text(case, case.answer),
        "service_name": cats.get(case.category_code or "", case.type),
        "service_code": case.category_code or case.type,
        "description": _text(case, f"{case.summary}\n{case.detail}".strip()),
        "agency_responsible": names.get(case.lead_unit or "", ""),
        "service_notice": wf.LABELS.get(case.status, case.status),
        "requested_datetime": _iso(case.created_at),
        "updated_datetime": _iso(case.updated_at),
        "expected_datetime": _iso(case.handle_due),
        "address": "",
        "address_id": None,
        "zipcode": None,
        "lat": None,
        "long": None,
        "media_url": None,
    }


@router.get(f"{OPEN311}/services.json")
async def services(ctx: Ctx) -> list[dict[str, Any]]:
    """Open311 service list: the second-level categories."""
    out = []
    for top in ctx.rules.categories:
        for sub in top.children:
            out.append(
                {
                    "service_code": sub.code,
                    "service_name": sub.name,
                    "description": f"{top.name}/{sub.name}",
                    "metadata": False,
                    "type": "realtime",
                    "keywords": "",
                    "group": top.name,
                }
            )
    return out


def _parse_dt(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise HTTPException(400, f"{name} must be an ISO 8601 date-time") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


@router.get(f"{OPEN311}/requests.json")
async def requests(
    session: SessionDep,
    ctx: Ctx,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    q = select(Case).where(Case.published.is_(True))
    if service_request_id:
        q = q.where(Case.number.in_([s.strip() for s in service_request_id.split(",")]))
    if service_code:
        codes = [s.strip() for s in service_code.split(",")]
        q = q.where(Case.category_code.in_(codes) | Case.type.in_(codes))
    start, end = _parse_dt(start_date, "start_date"), _parse_dt(end_date, "end_date")
    if start:
        q = q.where(Case.created_at >= start)
    if end:
        q = q.where(Case.created_at <= end)
    if status:
        wanted = {s.strip() for s in status.split(",")}
        states = [s for s in wf.STATES if ("closed" if s in wf.TERMINAL else "open") in wanted]
        q = q.where(Case.status.in_(states))
    rows = await session.scalars(q.order_by(Case.created_at.desc()).limit(1000))
    names = await _unit_names(session)
    return [_request(c, ctx, names) for c in rows]


@router.get(f"{OPEN311}/requests/{{request_id}}.json", response_model=None)
async def request_one(request_id: str, session: SessionDep, ctx: Ctx) -> list[dict[str, Any]] | JSONResponse:
    case = await session.scalar(select(Case).where(Case.number == request_id, Case.published.is_(True)))
    if case is None:
        return JSONResponse(
            [{"code": 404, "description": f"no published request {request_id}"}], status_code=404
        )
    return [_request(case, ctx, await _unit_names(session))]
