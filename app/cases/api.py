"""All routers of the case workflow (cases, units, outbox, public/Open311, pages), added to
app.routers in one line."""

from __future__ import annotations

from fastapi import APIRouter

from app.cases.pages import router as pages_router
from app.cases.router import router as cases_router
from app.outbox.router import router as outbox_router
from app.public.router import router as public_router
from app.units.router import router as units_router

router = APIRouter()
for _r in (cases_router, units_router, outbox_router, public_router, pages_router):
    router.include_router(_r)
