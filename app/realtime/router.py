"""The agent desktop and the supervisor wallboard: one line in app/routers.py includes both."""

from __future__ import annotations

from fastapi import APIRouter

from app.agents.router import router as agents_router
from app.stats.router import router as stats_router

router = APIRouter()
router.include_router(agents_router)
router.include_router(stats_router)
