"""Chinese web pages of the case workflow (static HTML + /static/hotline.js; data over the JSON API)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from app.web.router import page

TEMPLATES = Path(__file__).resolve().parent / "templates"
router = APIRouter(include_in_schema=False)


@router.get("/ui/cases")
async def agent_cases() -> FileResponse:
    """Agents: create, answer directly, dispatch."""
    return page(TEMPLATES / "agent_cases.html")


@router.get("/ui/unit")
async def unit_cases() -> FileResponse:
    """Unit handlers: sign, return, progress, request extension, reply."""
    return page(TEMPLATES / "unit.html")


@router.get("/ui/office")
async def office() -> FileResponse:
    """Hotline office: supervision board (red/yellow), extension approvals, reminders."""
    return page(TEMPLATES / "office.html")


@router.get("/ui/handovers")
async def handovers() -> FileResponse:
    """Both sides of 移交: accept or return what waits here; follow what this platform handed over."""
    return page(TEMPLATES / "handovers.html")


@router.get("/ui/case")
async def case_page() -> FileResponse:
    """One case: its facts, history and every action the transition table allows this user now."""
    return page(TEMPLATES / "case.html")


@router.get("/ui/search")
async def search_page() -> FileResponse:
    """Case search: number, phone, words, status, dates."""
    return page(TEMPLATES / "search.html")
