"""Reports' background part: the scheduled daily and monthly reports and the hot-topic alerts, run by
the case scheduler's sweep."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from app.cases.scheduler import EXTRA_SWEEPS
from app.reports import rollup
from app.reports.hot_service import alert_sweep
from app.reports.scheduler import scheduled_reports


@asynccontextmanager
async def reports(runtime: Any) -> AsyncIterator[None]:
    """STARTERS entry: registers the scheduled reports with the case scheduler."""
    EXTRA_SWEEPS["report_rollup"] = rollup.sweep  # before the scheduled reports, which read it
    EXTRA_SWEEPS["reports"] = scheduled_reports
    EXTRA_SWEEPS["hot_topics"] = alert_sweep
    try:
        yield
    finally:
        EXTRA_SWEEPS.pop("report_rollup", None)
        EXTRA_SWEEPS.pop("reports", None)
        EXTRA_SWEEPS.pop("hot_topics", None)
