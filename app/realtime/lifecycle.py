"""Background parts of the desktop and wallboard (one line in app/lifecycle.py starts both)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from app.agents.component import agents
from app.stats.component import stats

if TYPE_CHECKING:
    from app.runtime import Runtime


@asynccontextmanager
async def realtime(rt: Runtime) -> AsyncIterator[None]:
    async with agents(rt), stats(rt):
        yield
