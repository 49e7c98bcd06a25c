"""Hot topics over HTTP: the day's bursts, top terms and terms by prefecture; a term's trend; the page.
Supervisors and admins, within their platform scope."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse

from app.deps import SessionDep
from app.reports import hot, hot_service, service
from app.reports.router import Supervisor
from app.web.router import page

router = APIRouter(tags=["reports"])
HERE = Path(__file__).resolve().parent
MAX_TREND_DAYS = 92


def _platforms(request: Request, user: Any, platform: str | None) -> tuple[str, ...] | None:
    try:
        return service.allowed_platforms(request.app.state.runtime, user, platform)
    except service.ReportError as e:
        raise HTTPException(e.status, str(e)) from e


@router.get("/api/hot-topics")
async def get_hot_topics(
    request: Request,
    user: Supervisor,
    session: SessionDep,
    day: Annotated[date, Query(description="local day")],
    platform: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    rt = request.app.state.runtime
    return await hot_service.hot_topics(rt, session, day, _platforms(request, user, platform), hot.Rule())


@router.get("/api/hot-topics/trend")
async def get_trend(
    request: Request,
    user: Supervisor,
    session: SessionDep,
    term: Annotated[str, Query(min_length=1, max_length=32)],
    start: date,
    end: date,
    platform: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    if end < start or end - start > timedelta(days=MAX_TREND_DAYS):
        raise HTTPException(400, f"趋势的日期范围须在 1 至 {MAX_TREND_DAYS + 1} 天之间")
    rt = request.app.state.runtime
    return await hot_service.trend(rt, session, term, start, end, _platforms(request, user, platform))


@router.get("/ui/hot-topics", include_in_schema=False)
async def hot_topics_page() -> FileResponse:
    return page(HERE / "templates" / "hot_topics.html")
