"""The outbox's delivery boundary: hands due messages to their channel's sender.

Three short transactions, none held while a gateway answers (on SQLite a held write lock would keep
the gateway's own delivery report — which may arrive before the gateway has answered us — waiting):

1. claim: due pending rows of channels that have a sender get ``attempts + 1`` and a lease
   (``next_attempt_at`` moved ahead), by a conditional UPDATE, so two workers never send one twice;
2. send, with no transaction open;
3. record each outcome by a conditional UPDATE that never overwrites what a delivery report already
   said (the report may overtake step 3).

Commits: its own transactions (it is called by the case scheduler's loop). Publishes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from app.db import utcnow
from app.outbox.models import DELIVERED, FAILED, PENDING, OutboxMessage
from app.outbox.service import Outgoing, Rejected, Sender

LEASE_S = 300.0  # a claimed message whose worker died is retried after this


async def _claim(
    maker: Any, senders: dict[str, Sender], now: datetime, limit: int
) -> list[tuple[Outgoing, int]]:
    async with maker() as session:
        q = select(OutboxMessage).where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now)
        if "*" not in senders:
            q = q.where(OutboxMessage.channel.in_(list(senders)))
        rows = list(await session.scalars(q.order_by(OutboxMessage.id).limit(limit)))
        claimed = []
        for m in rows:
            res = await session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == m.id,
                    OutboxMessage.status == PENDING,
                    OutboxMessage.attempts == m.attempts,
                )
                .values(attempts=m.attempts + 1, next_attempt_at=now + timedelta(seconds=LEASE_S))
                .execution_options(synchronize_session=False)
            )
            if res.rowcount == 1:  # type: ignore[attr-defined]
                claimed.append(
                    (Outgoing(m.id, m.channel, m.recipient, m.body, m.subject, m.case_id), m.attempts + 1)
                )
        await session.commit()
    return claimed


async def _record(maker: Any, msg: Outgoing, values: dict[str, Any], status: str | None) -> None:
    async with maker() as session:
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.id == msg.id).values(**values)
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        if status is not None:  # only from pending: a delivery report that came first stands
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == msg.id, OutboxMessage.status == PENDING)
                .values(status=status, **({} if status == FAILED else {"last_error": None}))
                .execution_options(synchronize_session=False)
            )
        await session.commit()


async def deliver_due(
    maker: Any,
    senders: dict[str, Sender],
    *,
    now: datetime | None = None,
    limit: int = 200,
    retry_s: float = 60,
    max_attempts: int = 20,
) -> dict[str, int]:
    """Hand every due message of a channel that has a sender to it, once. Messages of channels with
    no sender are not touched (they wait). Counts {submitted, delivered, logged, retry, failed}."""
    now = now or utcnow()
    counts = {"submitted": 0, DELIVERED: 0, "logged": 0, "retry": 0, FAILED: 0}
    for msg, attempts in await _claim(maker, senders, now, limit):
        sender = senders.get(msg.channel) or senders["*"]
        try:
            got = await sender.send(msg)
        except Rejected as e:
            await _record(maker, msg, {"sender": sender.name, "last_error": f"rejected: {e}"[:1000]}, FAILED)
            counts[FAILED] += 1
            continue
        except Exception as e:  # noqa: BLE001 - any gateway failure keeps the message pending
            error = f"{type(e).__name__}: {e}"[:1000]
            if attempts >= max_attempts:
                await _record(maker, msg, {"sender": sender.name, "last_error": error}, FAILED)
                counts[FAILED] += 1
            else:
                backoff = retry_s * min(2 ** (attempts - 1), 60)
                retry = {
                    "sender": sender.name,
                    "last_error": error,
                    "next_attempt_at": now + timedelta(seconds=backoff),
                }
                await _record(maker, msg, retry, None)
                counts["retry"] += 1
            continue
        values: dict[str, Any] = {"sender": sender.name, "sent_at": now, "gateway_ref": got.ref}
        if got.status == DELIVERED:
            values["delivered_at"] = now
        await _record(maker, msg, values, got.status)
        counts[got.status] += 1
    return counts
