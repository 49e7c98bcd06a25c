"""Queue call-backs the citizen did not answer (status ``retry``) are tried again at their
``next_attempt_at`` (callflow.callback.next_attempt: ``queue_callback.retries`` times,
``retry_interval_s`` apart): a new placeholder joins the same queue at its head (the citizen already
waited their turn) with a new channel id and call row, and the attempt count goes up. One process
runs the loop (lifecycle: singleton); each row is claimed with a conditional UPDATE, so no attempt
is ever started twice. A boundary: commits each claim, then publishes ``callback.updated``."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.callbacks import models as cbm
from app.callbacks import service
from app.callbacks.component import updated
from app.callbacks.models import Callback
from app.callbacks.queued import PREFIX, originate_action, placeholder_call, placeholder_uid
from app.calls.models import Call
from app.db import utcnow
from app.runtime import in_background
from app.telephony.ami import AmiError
from app.telephony.lifecycle import TELEPHONY
from callflow.skills import base_queue

if TYPE_CHECKING:
    from app.runtime import Runtime
    from callflow.callback import CallbackSettings

log = logging.getLogger(__name__)
POLL_S = 2.0  # how often due retries are looked for (the interval itself is minutes by default)


async def claim(session: AsyncSession, cb_id: int, now: datetime) -> tuple[Callback, Call] | None:
    """The next attempt of call-back ``cb_id`` if it is due and nobody claimed it: the row (queued
    again, a new channel id, one attempt more) and its new placeholder's call row (flushed)."""
    cb = await session.get(Callback, cb_id)
    if cb is None or cb.status != cbm.RETRY or cb.next_attempt_at is None or cb.next_attempt_at > now:
        return None
    old, new = cb.channel_id, f"{PREFIX}{uuid.uuid4().hex[:16]}"
    n = (cb.attempts or 1) + 1
    res = await session.execute(
        update(Callback)
        .where(Callback.id == cb_id, Callback.status == cbm.RETRY, Callback.channel_id == old)
        .values(status=cbm.QUEUED, channel_id=new, attempts=n, next_attempt_at=None, agent="", interface="",
                detail=f"第 {n} 次回拨：排队等待坐席")  # fmt: skip
        .execution_options(synchronize_session=False)
    )
    if getattr(res, "rowcount", 0) != 1:
        return None
    await session.refresh(cb)
    original = await session.scalar(select(Call).where(Call.uniqueid == cb.call_uniqueid))
    previous = await session.scalar(select(Call).where(Call.uniqueid == placeholder_uid(old)))
    if original is None or previous is None or not (cb.queue or previous.queue):
        cb.status, cb.detail, cb.ended_at = cbm.FAILED, "无法重拨：原呼叫记录缺失", now
        await session.flush()
        return None
    cb.queue = cb.queue or previous.queue  # (a request made before the column: its platform queue)
    row = placeholder_call(cb, original, base_queue(cb.queue or ""))
    session.add(row)
    await session.flush()
    return cb, row


def retry_action(cb: Callback, settings: CallbackSettings) -> dict[str, Any]:
    """The Originate of a claimed retry's placeholder: the queue the caller asked in, skill included
    (at its head: the citizen already waited their turn)."""
    return originate_action(cb, cb.queue or "", "1", settings.hold_max_s, settings.ring_s)


async def run_due(rt: Runtime) -> int:
    """Starts every due retry; returns how many were started."""
    settings = rt.config.queue_callback
    async with rt.db.sessionmaker() as session:
        ids = list(
            await session.scalars(
                select(Callback.id).where(Callback.status == cbm.RETRY, Callback.next_attempt_at <= utcnow())
            )
        )
    started = 0
    for cb_id in ids:
        async with rt.db.sessionmaker() as session:
            got = await claim(session, cb_id, utcnow())
            await session.commit()
            if got is None:
                continue
            cb, row = got
            out, action = service.callback_out(cb), retry_action(cb, settings)
            channel_id, server = cb.channel_id, row.server
        await rt.hub.publish(updated(out))
        try:
            conn = rt.require(TELEPHONY).connections[server]
            await conn.action(action, timeout=5)
            started += 1
        except (AmiError, KeyError) as e:
            async with rt.db.sessionmaker() as session:
                failed = await service.advance(session, channel_id, cbm.FAILED, f"无法重拨: {e}"[:250])
                await session.commit()
                if failed is not None:
                    out = service.callback_out(failed)
            await rt.hub.publish(updated(out))
    return started


async def _loop(rt: Runtime) -> None:
    while True:
        try:
            await run_due(rt)
        except Exception:  # noqa: BLE001 - the loop outlives one bad round (logged)
            log.exception("queue call-back retries failed")
        await asyncio.sleep(POLL_S)


@asynccontextmanager
async def callback_retries(rt: Runtime) -> AsyncIterator[None]:
    """STARTERS entry (one process: lifecycle.singleton)."""
    async with in_background(_loop(rt), "callback-retry"):
        yield
