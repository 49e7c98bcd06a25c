"""/health entry for the outbox: messages that failed, that wait for over an hour, and messages that
wait because no gateway is configured for their channel (SMS without an SMS gateway, e-mail without
SMTP) — those wait, they are never marked sent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from app.db import utcnow
from app.outbox.models import FAILED, PENDING, OutboxMessage
from app.outbox.service import senders_of, waiting_without_sender


async def outbox_health(runtime: Any) -> tuple[bool, dict[str, Any]]:
    senders = senders_of(runtime)
    async with runtime.db.sessionmaker() as session:
        rows = dict(
            (
                await session.execute(
                    select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                )
            ).all()
        )
        stuck = await session.scalar(
            select(func.count()).where(
                OutboxMessage.status == PENDING, OutboxMessage.created_at < utcnow() - timedelta(hours=1)
            )
        )
        waiting = await waiting_without_sender(session, senders)
    detail: dict[str, Any] = {
        "by_status": rows,
        "pending": rows.get(PENDING, 0),
        "failed": rows.get(FAILED, 0),
        "stuck_over_1h": stuck or 0,
        "channels": sorted(k for k in senders if k != "*"),
        "waiting_for_gateway": waiting,
    }
    reasons = []
    if detail["failed"] or detail["stuck_over_1h"]:
        reasons.append(
            f"outbox: {detail['failed']} failed, {detail['stuck_over_1h']} pending for over an hour"
        )
    for channel, n in sorted(waiting.items()):
        reasons.append(f"no {channel} gateway configured: {n} message(s) waiting")
    if reasons:
        detail["reason"] = "; ".join(reasons)
    return not reasons, detail
