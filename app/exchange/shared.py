"""Shared data peers pull (signed GET, see docs/exchange/README.md §5): one day's call and case
figures per platform this deployment serves, so the province sees the whole province. No commits."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls.models import ABANDONED, ANSWERED, COMPLETED, VOICEMAIL, Call
from app.cases.context import CaseContext
from app.cases.models import Case, CaseEvent


def local_platforms(ctx: CaseContext) -> list[str]:
    return [
        p.code
        for p in ctx.config.platforms
        if p.code not in ctx.remote and (ctx.local is None or p.code in ctx.local)
    ]


async def daily_stats(session: AsyncSession, ctx: CaseContext, day: date) -> dict[str, Any]:
    start = datetime.combine(day, time(0), ctx.zone).astimezone(UTC)
    end = start + timedelta(days=1)
    mine = local_platforms(ctx)
    out: dict[str, dict[str, Any]] = {
        p: {"calls_offered": 0, "calls_answered": 0, "calls_abandoned": 0, "calls_voicemail": 0,
            "cases_created": 0, "cases_replied": 0, "ratings": {"1": 0, "2": 0, "3": 0}}
        for p in mine
    }  # fmt: skip
    calls = await session.execute(
        select(Call.platform, Call.outcome, func.count())
        .where(
            Call.arrived_at >= start, Call.arrived_at < end, Call.direction == "in", Call.platform.in_(mine)
        )
        .group_by(Call.platform, Call.outcome)
    )
    for platform, outcome, n in calls.tuples():
        row = out[str(platform)]
        row["calls_offered"] += n
        row["calls_answered"] += n if outcome in (ANSWERED, COMPLETED) else 0
        row["calls_abandoned"] += n if outcome == ABANDONED else 0
        row["calls_voicemail"] += n if outcome == VOICEMAIL else 0
    for col, key in ((Case.created_at, "cases_created"), (Case.replied_at, "cases_replied")):
        rows = await session.execute(
            select(Case.platform, func.count())
            .where(col >= start, col < end, Case.platform.in_(mine))
            .group_by(Case.platform)
        )
        for platform, n in rows.tuples():
            out[platform][key] = n
    rated = await session.execute(
        select(Case.platform, Case.rating, func.count())
        .join(CaseEvent, CaseEvent.case_id == Case.id)
        .where(CaseEvent.action == "rate", CaseEvent.at >= start, CaseEvent.at < end, Case.platform.in_(mine))
        .group_by(Case.platform, Case.rating)
    )
    for platform, rating, n in rated.tuples():
        if rating in (1, 2, 3):
            out[platform]["ratings"][str(rating)] += n
    return {"date": day.isoformat(), "platforms": out}
