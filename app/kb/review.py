"""Knowledge-base review reminders: one per passed review date, to the owning unit (or the
platform's hotline office), run by the case scheduler's sweep (app.cases.scheduler.EXTRA_SWEEPS)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.kb.models import PUBLISHED, KbArticle
from app.kb.service import KbContext, context_of
from app.outbox.service import enqueue


async def review_sweep(session: AsyncSession, ctx: KbContext, now: datetime | None = None) -> int:
    """One reminder per review date that has passed, to the owning unit (or the platform's hotline
    office): published articles whose review date is before today and not yet reminded for it."""
    now = now or utcnow()
    today = ctx.today(now)
    due = await session.scalars(
        select(KbArticle)
        .where(KbArticle.status == PUBLISHED, KbArticle.review_due < today)
        .where(
            or_(
                KbArticle.review_reminded_for.is_(None), KbArticle.review_reminded_for != KbArticle.review_due
            )
        )
        .order_by(KbArticle.review_due, KbArticle.id)
        .limit(500)
    )
    n = 0
    for a in due:
        unit = a.owner_unit is not None
        enqueue(
            session, channel="unit" if unit else "office",
            recipient=a.owner_unit or a.platform or ctx.provincial,
            body=f"【12345知识库】《{a.title}》已过复审日期 {a.review_due}，请复核内容并更新复审日期。",
            kind="kb_review", now=now,
        )  # fmt: skip
        a.review_reminded_for = a.review_due
        n += 1
    await session.flush()
    return n


async def review_job(runtime: Any, session: AsyncSession, now: datetime) -> int:
    """The case scheduler's hook (app.cases.scheduler.EXTRA_SWEEPS)."""
    return await review_sweep(session, context_of(runtime), now)
