"""Every domain's router, in one list. A new domain adds one line here."""

from __future__ import annotations

from fastapi import APIRouter

from app.auth.router import router as auth_router
from app.calls.router import router as calls_router
from app.cases.api import router as cases_router
from app.health.router import router as health_router
from app.realtime.router import router as realtime_router
from app.surveys.router import router as surveys_router
from app.web.router import router as web_router
from recordings.router import router as recordings_router

ROUTERS: list[APIRouter] = [
    health_router,
    auth_router,
    calls_router,
    cases_router,
    realtime_router,
    surveys_router,
    recordings_router,
    web_router,
]
