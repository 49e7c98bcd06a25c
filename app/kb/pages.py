"""Knowledge-base pages: the editors' page (/ui/kb) and the public reading page (/kb)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from app.web.router import page

TEMPLATES = Path(__file__).resolve().parent / "templates"
router = APIRouter(include_in_schema=False)


@router.get("/ui/kb")
async def kb_page() -> FileResponse:
    """Staff: search, read, write, publish, import (what each may do is checked by the API)."""
    return page(TEMPLATES / "kb.html")


@router.get("/public/kb")
async def public_page() -> FileResponse:
    """The public: published articles, searchable, no login."""
    return page(TEMPLATES / "public_kb.html")
