"""Queue call-back (排队回拨), the backend's half: a caller who pressed the offer's key has hung up;
a placeholder takes their place in the queue (AMI Originate of a Local channel into
[hotline-queue-wait]'s sibling [hotline-qcb-hold], Async), and when an agent answers it the citizen's
phone is dialled (agent first). The request is a `callbacks` row (requested_by "caller", linked to
the original call) and the placeholder a call row (direction "out", callback_of = the original).
A boundary: commits each step, then publishes ``callback.updated``.
docs/adr/2026-12-02-queue-callback.md."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.callbacks import models as cbm
from app.callbacks import service
from app.callbacks.component import updated
from app.callbacks.models import Callback
from app.calls.models import Call
from app.db import utcnow
from app.events import Event
from app.runtime import Key
from app.telephony.ami import AmiError
from app.telephony.lifecycle import TELEPHONY
from callflow.callback import UNANSWERED, callable_number, next_attempt, placeholder_position
from callflow.skills import SKILLED_MAX_PENALTY, base_queue, split_queue

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger(__name__)
PREFIX = "hl-qcb-"  # ChannelId of a placeholder's half 1 (the Linkedid of every leg); half 2 adds "-2"


def placeholder_uid(channel_id: str) -> str:
    return f"{channel_id}-2"


async def request(session: AsyncSession, uniqueid: str, queue: str, position: str) -> Callback | None:
    """The request of the caller of ``uniqueid`` (flushed, not committed), or None: an unknown call, a
    number that cannot be called back, or a request already made for this call."""
    call = await session.scalar(select(Call).where(Call.uniqueid == uniqueid))
    if call is None:
        log.warning("queue call-back for an unknown call %s", uniqueid)
        return None
    number = callable_number(call.caller_e164, call.caller_kind or "")
    if number is None:
        log.warning("queue call-back for %s: the number cannot be called back", uniqueid)
        return None
    dup = await session.scalar(
        select(Callback).where(Callback.call_uniqueid == uniqueid, Callback.requested_by == cbm.CALLER)
    )
    if dup is not None:
        return None
    pos = placeholder_position(position)
    cb = Callback(
        channel_id=f"{PREFIX}{uuid.uuid4().hex[:16]}", call_uniqueid=uniqueid, number=number,
        platform=call.platform, agent="", interface="", requested_by=cbm.CALLER, status=cbm.QUEUED,
        detail=f"排队回拨：在 {queue} 第 {pos} 位等待坐席", queue=queue[:64],
    )  # fmt: skip
    session.add(cb)
    session.add(placeholder_call(cb, call, base_queue(queue)))
    await session.flush()
    return cb


def placeholder_call(cb: Callback, call: Call, queue: str) -> Call:
    """The call row of a placeholder (one per attempt): an outgoing call-back of ``call``."""
    return Call(
        uniqueid=placeholder_uid(cb.channel_id), linkedid=cb.channel_id, server=call.server, direction="out",
        caller=cb.number, caller_e164=call.caller_e164, caller_kind=call.caller_kind, prefecture=call.prefecture,
        platform=call.platform, source_hotline=call.source_hotline, did=call.did, route="callback",
        reason=f"排队回拨 {call.uniqueid}", queue=queue, callback_of=call.uniqueid,
    )  # fmt: skip


def originate_action(cb: Callback, queue: str, position: str, hold_s: int, ring_s: int) -> dict[str, Any]:
    """The placeholder: half 2 waits in ``queue`` at the caller's position ([hotline-qcb-hold]); half 1
    continues in [hotline-qcb-dial] once an agent answered it. Async: the answer may take minutes."""
    skilled = split_queue(queue)[1] is not None
    variables = {
        "QCB_ID": cb.channel_id, "QCB_QUEUE": queue, "QCB_POS": placeholder_position(position),
        "QCB_NUMBER": cb.number, "QCB_HOLD_S": hold_s, "QCB_RING_S": ring_s,
        "QCB_MAXPEN": SKILLED_MAX_PENALTY if skilled else "",
    }  # fmt: skip
    return {
        "Action": "Originate",
        "Channel": "Local/s@hotline-qcb-hold/n",
        "Context": "hotline-qcb-dial",
        "Exten": cb.number,
        "Priority": "1",
        "CallerID": f'"12345回拨" <{cb.number}>',
        "ChannelId": cb.channel_id,
        "OtherChannelId": placeholder_uid(cb.channel_id),
        "Timeout": str((hold_s + 60) * 1000),
        "Async": "true",
        "Variable": ",".join(f"{k}={v}" for k, v in variables.items()),
    }


STATUS = {"dialing": cbm.DIALING, "connected": cbm.CONNECTED, "expired": cbm.FAILED}


class QueueCallbacks:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._tasks: set[asyncio.Task[Any]] = set()
        self._lock = asyncio.Lock()  # one event at a time, in order (requested before dialing)

    async def on_event(self, ev: Event) -> None:
        """Not in the AMI consumer's way: handled in a task, in order."""
        t = asyncio.create_task(self._handle(ev))
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(self, ev: Event) -> None:
        d = ev.data
        async with self._lock:
            await self._one(d)

    async def _one(self, d: dict[str, Any]) -> None:
        try:
            # "requested" is only reported: the request itself came through the AGI route (take)
            if str(d.get("id", "")).startswith(PREFIX):
                await self.progress(str(d["id"]), str(d.get("status", "")), str(d.get("dialstatus", "")))
        except Exception:  # noqa: BLE001 - one bad event must not stop the hub's delivery
            log.exception("queue call-back event %s failed", d)

    async def take(self, uniqueid: str, queue: str, position: str, server: str) -> bool:
        """The AGI route queue-callback (the caller still on the line): True once the request is
        committed and its placeholder sent to Asterisk; False and the caller keeps waiting."""
        async with self._lock:
            try:
                return await self.requested(uniqueid, queue, position, server)
            except Exception:  # noqa: BLE001 - the caller is told and keeps their place
                log.exception("queue call-back request of %s failed", uniqueid)
                return False

    async def requested(self, uniqueid: str, queue: str, position: str, server: str) -> bool:
        settings = self.rt.config.queue_callback
        async with self.rt.db.sessionmaker() as session:
            cb = await request(session, uniqueid, queue, position)
            if cb is None:
                return False
            await session.commit()
            out = service.callback_out(cb)
        await self.rt.hub.publish(updated(out))
        action = originate_action(cb, queue, position, settings.hold_max_s, settings.ring_s)
        try:
            conn = self.rt.require(TELEPHONY).connections[server]
            await conn.action(action, timeout=5)
        except (AmiError, KeyError) as e:
            await self.update(cb.channel_id, cbm.FAILED, f"无法排队回拨: {e}"[:250])
            return False
        return True

    async def progress(self, channel_id: str, status: str, dialstatus: str) -> None:
        if status == "ended" and dialstatus != "ANSWER":
            await self.unanswered(channel_id, dialstatus)
            return
        if status == "ended":
            new, detail = cbm.DONE, None
        elif status in STATUS:
            new = STATUS[status]
            detail = "排队等待超时，未能回拨" if status == "expired" else None
        else:
            return
        await self.update(channel_id, new, detail)

    async def update(self, channel_id: str, status: str, detail: str | None) -> None:
        async with self.rt.db.sessionmaker() as session:
            cb = await service.advance(session, channel_id, status, detail)
            if cb is None:
                return
            await _fill_agent(session, cb)
            await session.commit()
            out = service.callback_out(cb)
        await self.rt.hub.publish(updated(out))

    async def unanswered(self, channel_id: str, dialstatus: str) -> None:
        """The citizen did not answer (or was busy): another attempt later while retries are left
        (app.callbacks.scheduler starts it), else the request is given up (已放弃)."""
        async with self.rt.db.sessionmaker() as session:
            cb = await session.scalar(select(Callback).where(Callback.channel_id == channel_id))
            if cb is None or cb.status in service.SETTLED:
                return
            n, why = cb.attempts or 1, f"市民未接听 ({dialstatus or '未知'})"
            when = next_attempt(self.rt.config.queue_callback, n, dialstatus, utcnow())
            if when is not None:
                cb.status, cb.next_attempt_at, cb.detail = cbm.RETRY, when, f"第 {n} 次{why}，将再次回拨"
            else:
                cb.status, cb.ended_at = (cbm.GAVE_UP if dialstatus in UNANSWERED else cbm.FAILED), utcnow()
                cb.detail = f"已回拨 {n} 次，{why}，已放弃" if cb.status == cbm.GAVE_UP else why
            await _fill_agent(session, cb)
            await session.commit()
            out = service.callback_out(cb)
        await self.rt.hub.publish(updated(out))


async def _fill_agent(session: AsyncSession, cb: Callback) -> None:
    """The agent who answered the placeholder (AgentConnect wrote it on its call row)."""
    if not cb.agent:
        row = await session.scalar(select(Call).where(Call.uniqueid == placeholder_uid(cb.channel_id)))
        if row is not None and row.agent:
            cb.agent, cb.interface = row.agent, row.agent_interface or ""


@asynccontextmanager
async def queue_callbacks(rt: Runtime) -> AsyncIterator[None]:
    """STARTERS entry."""
    comp = QueueCallbacks(rt)
    rt.put(QUEUE_CALLBACKS, comp)
    rt.hub.subscribe("queue_callback.", comp.on_event)
    try:
        yield
    finally:
        rt.hub.unsubscribe("queue_callback.", comp.on_event)
        rt.drop(QUEUE_CALLBACKS)
        await comp.close()


QUEUE_CALLBACKS: Key[QueueCallbacks] = Key("queue_callbacks")


class QueueCallbackPort:
    """agi_handlers.ports.QueueCallbackRequests: the running component takes the request."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def request(self, uniqueid: str, queue: str, position: str, server: str) -> bool:
        comp = self.rt.get(QUEUE_CALLBACKS)
        return comp is not None and await comp.take(uniqueid, queue, position, server)
