"""The daily and monthly reports, generated on schedule and sent by e-mail through the outbox.

At ``settings.report_send_at`` (local time) the daily report of the day before and, from the first of a
month on, the monthly report of the month before, are due; each is generated once (a report_deliveries
row per kind and period, written with its outbox messages in the same transaction) and queued for every
address of ``settings.report_recipients``. Run by the case scheduler's sweep (EXTRA_SWEEPS), which
commits and then delivers the outbox. Province-wide figures, with one line per platform."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.outbox.email import CHANNEL
from app.outbox.service import enqueue
from app.reports import service
from app.reports.figures import COLUMNS, format_value
from app.reports.models import ReportDelivery
from app.reports.queries import Filters

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger(__name__)
KIND_NAMES = {"daily": "日报", "monthly": "月报"}


def due(now_local: datetime, send_at: time) -> list[tuple[str, str, date, date]]:
    """(kind, period, first day, last day) of the reports due at ``now_local``: those of the last
    completed sending moment (today's if its time has come, else yesterday's)."""
    ref = now_local.date() if now_local.time() >= send_at else now_local.date() - timedelta(days=1)
    day = ref - timedelta(days=1)
    last_of_prev = ref.replace(day=1) - timedelta(days=1)
    return [
        ("daily", day.isoformat(), day, day),
        ("monthly", last_of_prev.strftime("%Y-%m"), last_of_prev.replace(day=1), last_of_prev),
    ]


def text_of(title: str, rep: dict[str, Any]) -> str:
    """The mail: subject line, blank line, the figures (province) and one block per platform."""

    def block(figs: dict[str, Any]) -> list[str]:
        return [f"  {label}：{format_value(figs.get(key), kind)}" for key, label, kind in COLUMNS]

    lines = [title, "", f"统计日期：{rep['start']} 至 {rep['end']}", "", "全省合计："]
    lines += block(rep["total"])
    for row in rep["rows"]:
        lines += ["", f"{row['dim_label']}："] + block(row)
    lines += ["", "模拟测试来电不计入统计。详见“统计报表”页面。"]
    return "\n".join(lines)


async def scheduled_reports(rt: Runtime, session: AsyncSession, now: datetime) -> int:
    """EXTRA_SWEEPS entry: queues the reports that are due and not yet sent; returns how many."""
    s = rt.settings
    if not s.report_recipients:
        return 0
    if not s.smtp_host:
        log.warning("scheduled reports: report_recipients set but no smtp_host; nothing sent")
        return 0
    hh, mm = (int(x) for x in s.report_send_at.split(":"))
    made = 0
    for kind, period, first, last in due(now.astimezone(rt.config.zone), time(hh, mm)):
        exists = await session.scalar(
            select(ReportDelivery.id).where(ReportDelivery.kind == kind, ReportDelivery.period == period)
        )
        if exists is not None:
            continue
        rep = await service.report(rt, session, Filters(first, last), "total", "platform")
        label = period if kind == "daily" else f"{first.year}年{first.month}月"
        body = text_of(f"{rt.config.name}{KIND_NAMES[kind]}（{label}）", rep)
        for address in s.report_recipients:
            enqueue(session, channel=CHANNEL, recipient=address, body=body, kind=f"report_{kind}", now=now)
        session.add(
            ReportDelivery(kind=kind, period=period, recipients=",".join(s.report_recipients), created_at=now)
        )
        await session.flush()
        made += 1
    return made
