"""The knowledge base's background part: review reminders, run by the case scheduler's sweep."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from app.cases.scheduler import EXTRA_SWEEPS
from app.kb.review import review_job


@asynccontextmanager
async def knowledge_base(runtime: Any) -> AsyncIterator[None]:
    """STARTERS entry: registers the review-date sweep with the case scheduler."""
    EXTRA_SWEEPS["kb_review"] = review_job
    try:
        yield
    finally:
        EXTRA_SWEEPS.pop("kb_review", None)
