"""Reports over HTTP: JSON, drill-down, CSV and Excel, the page. Supervisors and admins, within their
platform scope (a prefecture's supervisor sees their own platform only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, Response

from app.auth.deps import require_roles
from app.auth.models import Role, User
from app.deps import SessionDep
from app.reports import export, service
from app.reports.queries import Filters
from app.web.router import page

router = APIRouter(tags=["reports"])
Supervisor = Annotated[User, Depends(require_roles(Role.supervisor, Role.admin))]
HERE = Path(__file__).resolve().parent
Period = Literal["day", "week", "month", "total"]
By = Literal["none", "platform", "hotline", "channel", "unit", "category"]


@dataclass(frozen=True)
class Params:
    filters: Filters
    period: str
    by: str


def params(
    request: Request,
    user: Supervisor,
    start: Annotated[date, Query(description="first day (local), inclusive")],
    end: Annotated[date, Query(description="last day (local), inclusive")],
    period: Period = "day",
    by: By = "none",
    platform: Annotated[str | None, Query(max_length=32)] = None,
    hotline: Annotated[str | None, Query(max_length=16)] = None,
    channel: Annotated[str | None, Query(max_length=16)] = None,
    unit: Annotated[str | None, Query(max_length=64)] = None,
    category: Annotated[str | None, Query(max_length=16)] = None,
) -> Params:
    rt = request.app.state.runtime
    try:
        service.check_range(start, end)
        platforms = service.allowed_platforms(rt, user, platform)
    except service.ReportError as e:
        raise HTTPException(e.status, str(e)) from e
    f = Filters(start, end, platforms, hotline or None, channel or None, unit or None, category or None)
    return Params(f, period, by)


ParamsDep = Annotated[Params, Depends(params)]


async def _report(request: Request, session: Any, p: Params) -> dict[str, Any]:
    try:
        return await service.report(request.app.state.runtime, session, p.filters, p.period, p.by)
    except service.ReportError as e:
        raise HTTPException(e.status, str(e)) from e


@router.get("/api/reports")
async def get_report(request: Request, p: ParamsDep, session: SessionDep) -> dict[str, Any]:
    return await _report(request, session, p)


@router.get("/api/reports/drill")
async def get_drill(
    request: Request,
    p: ParamsDep,
    session: SessionDep,
    figure: Annotated[str, Query(max_length=32, description="a report column, e.g. abandon_rate")],
    key: Annotated[str | None, Query(max_length=16, description="the row's period key")] = None,
    dim: Annotated[str | None, Query(max_length=64, description="the row's group value")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    from app.reports.figures import DRILL

    if figure not in DRILL:
        raise HTTPException(400, f"未知指标 {figure}")
    subset, title = DRILL[figure]
    try:
        out = await service.drill(
            request.app.state.runtime, session, p.filters, subset=subset, period=p.period, key=key,
            by=p.by, dim=dim, limit=limit, offset=offset,
        )  # fmt: skip
    except service.ReportError as e:
        raise HTTPException(e.status, str(e)) from e
    return {"title": title, "figure": figure, **out}


def _filename(p: Params, ext: str) -> str:
    name = f"12345热线报表_{p.filters.start.isoformat()}_{p.filters.end.isoformat()}.{ext}"
    return f"attachment; filename=report.{ext}; filename*=UTF-8''{quote(name)}"


@router.get("/api/reports/export.csv")
async def export_csv(request: Request, p: ParamsDep, session: SessionDep) -> Response:
    data = export.to_csv(await _report(request, session, p))
    return Response(
        data, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": _filename(p, "csv")}
    )


@router.get("/api/reports/export.xlsx")
async def export_xlsx(request: Request, p: ParamsDep, session: SessionDep) -> Response:
    rt = request.app.state.runtime
    data = export.to_xlsx(await _report(request, session, p), f"{rt.config.name} 统计报表")
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": _filename(p, "xlsx")},
    )


@router.get("/ui/reports", include_in_schema=False)
async def reports_page() -> FileResponse:
    return page(HERE / "templates" / "reports.html")
