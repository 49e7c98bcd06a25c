"""Outbox: enqueue inside the business transaction, deliver later through pluggable senders.

A sender is anything with ``name`` and ``async send(recipient, body)`` that raises on failure
(:class:`SmsGateway`). The default :class:`LogSender` only logs: the outbox row itself is the record
of what was said to whom. A failing sender leaves the row pending with ``attempts`` and
``last_error``; it is retried after ``retry_s`` (growing), and marked failed only after
``max_attempts``. No commits here.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.outbox.models import FAILED, PENDING, SENT, OutboxMessage

log = logging.getLogger(__name__)


@runtime_checkable
class SmsGateway(Protocol):
    name: str

    async def send(self, recipient: str, body: str) -> None:
        """Deliver or raise."""


class LogSender:
    """Default sender: logs the message; the outbox row is the log."""

    name = "log"

    async def send(self, recipient: str, body: str) -> None:
        log.info("outbox → %s: %s", recipient, body)


def enqueue(
    session: AsyncSession,
    *,
    channel: str,
    recipient: str,
    body: str,
    case_id: int | None = None,
    kind: str = "notice",
    now: datetime | None = None,
) -> OutboxMessage:
    now = now or utcnow()
    msg = OutboxMessage(
        channel=channel,
        recipient=recipient,
        body=body,
        case_id=case_id,
        kind=kind,
        status=PENDING,
        attempts=0,
        created_at=now,
        next_attempt_at=now,
    )
    session.add(msg)
    return msg


async def deliver_pending(
    session: AsyncSession,
    senders: dict[str, SmsGateway],
    *,
    now: datetime | None = None,
    limit: int = 200,
    retry_s: float = 60,
    max_attempts: int = 20,
) -> dict[str, int]:
    """Try every due pending message once. Returns counts {sent, retry, failed}."""
    now = now or utcnow()
    rows = list(
        await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )
    counts = {"sent": 0, "retry": 0, "failed": 0}
    for msg in rows:
        sender = senders.get(msg.channel) or senders.get("*")
        msg.attempts += 1
        if sender is None:
            msg.last_error = f"no sender for channel {msg.channel!r}"
        else:
            msg.sender = sender.name
            try:
                await sender.send(msg.recipient, msg.body)
            except Exception as e:  # noqa: BLE001 - any gateway failure keeps the message pending
                msg.last_error = f"{type(e).__name__}: {e}"[:1000]
            else:
                msg.status, msg.sent_at, msg.last_error = SENT, now, None
                counts["sent"] += 1
                continue
        if msg.attempts >= max_attempts:
            msg.status = FAILED
            counts["failed"] += 1
        else:
            backoff = retry_s * min(2 ** (msg.attempts - 1), 60)
            msg.next_attempt_at = now + timedelta(seconds=backoff)
            counts["retry"] += 1
    await session.flush()
    return counts


def default_senders() -> dict[str, SmsGateway]:
    return {"*": LogSender()}


def senders_of(runtime: object) -> dict[str, SmsGateway]:
    comps = runtime.components  # type: ignore[attr-defined]
    if "outbox_senders" not in comps:
        comps["outbox_senders"] = default_senders()
    return comps["outbox_senders"]  # type: ignore[no-any-return]
