"""Shared web layer: static files, templates, the login page. Domain pages live with their domains
(templates under app/<domain>/templates, served by the domain's router) and use /static/hotline.{css,js}."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from app.web.security import page_csp

WEB = Path(__file__).resolve().parent
router = APIRouter(include_in_schema=False)
static = StaticFiles(directory=WEB / "static")


def page(path: Path) -> FileResponse:
    """A page, with a Content-Security-Policy that lets only its own inline scripts run."""
    return FileResponse(
        path, media_type="text/html; charset=utf-8", headers={"Content-Security-Policy": page_csp(path)}
    )


@router.get("/login")
async def login_page() -> FileResponse:
    return page(WEB / "templates" / "login.html")


@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse("/login")
