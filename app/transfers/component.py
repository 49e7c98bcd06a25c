"""Transfers' background work: follows each transfer through Asterisk's events (UserEvent
HotlineTransfer from the dialplan, AgentConnect, the caller's Hangup), tells the transferring agent's
desktop what happened, and adds the transfer to the receiving agent's screen-pop. A boundary: it
commits (app.events.commit_and_publish)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents import screenpop
from app.agents.component import AGENTS
from app.calls.models import Call
from app.db import utcnow
from app.events import Event, commit_and_publish
from app.runtime import Key
from app.telephony.lifecycle import TELEPHONY
from app.transfers import events as te
from app.transfers import models as tm
from app.transfers import service
from app.transfers.models import CallTransfer

if TYPE_CHECKING:
    from app.auth.models import User
    from app.runtime import Runtime

log = logging.getLogger(__name__)
TOPICS = ("call.transfer", "agent.connect", "call.ended")
# a caller's hang-up concerns transfers only when one of the call's is unfinished: almost never, while
# every call ends. The hang-ups that arrived together are asked about in one read on a pooled connection
# (no session, no transaction): one read per hang-up at 200 calls/s kept opening connections beyond
# the pool's size.
OPEN_LEGS = (
    select(CallTransfer.call_uniqueid)
    .where(CallTransfer.call_uniqueid.in_(bindparam("uniqueids", expanding=True)), CallTransfer.ended_at.is_(None))
    .distinct()
)
ENDED_BATCH = 500  # hang-ups per read at most


def _status_of(raw: str) -> tuple[str | None, str | None]:
    """Dialplan status → (transfer status, detail)."""
    word, _, rest = raw.partition(" ")
    if word == "started":
        return tm.RINGING, None
    if word == "consult":
        return tm.CONSULTING, None
    if word == "answered":
        return tm.ANSWERED, None
    if word == "failed":
        return tm.FAILED, {"NOANSWER": "无人接听", "TIMEOUT": "无人接听", "BUSY": "对方忙",
                           "CHANUNAVAIL": "对方不可达", "CONGESTION": "线路拥塞", "JOINEMPTY": "队列无人",
                           "LEAVEEMPTY": "队列无人"}.get(rest, rest or "无人接听")  # fmt: skip
    if word == "returned":
        return tm.RETURNED, None
    if word == "requeued":
        return tm.REQUEUED, None
    return None, None


async def pop_extra(session: AsyncSession, uniqueid: str) -> dict[str, Any] | None:
    """The transfer part of a receiving agent's screen-pop: who sent the call, their note, the case."""
    t = await service.active_for_call(session, uniqueid)
    if t is None:
        return None
    case = await service.case_of_call(session, t.call_uniqueid)
    return {
        **te.out(t),
        "case": {"number": case.number, "summary": case.summary, "status": case.status} if case else None,
    }


class Transfers:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._tasks: set[asyncio.Task[Any]] = set()
        self._lock = asyncio.Lock()
        self._ended: dict[str, Event] = {}  # hang-ups not yet checked for an unfinished transfer
        self._checking: asyncio.Task[Any] | None = None

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        t = asyncio.create_task(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)
        return t

    async def pop_extra(self, session: AsyncSession, uniqueid: str) -> dict[str, Any] | None:
        """pop_extra once the transfer events published before this AgentCalled are applied (a call
        arriving over the trunk is linked by its 'arrived' event, which Asterisk sends first)."""
        async with self._lock:
            return await pop_extra(session, uniqueid)

    async def on_event(self, ev: Event) -> None:
        if ev.topic != "call.ended":
            self.spawn(self._handle(ev))
            return
        self._ended[str(ev.data.get("uniqueid") or "")] = ev
        if self._checking is None or self._checking.done():
            self._checking = self.spawn(self._check_ended())

    async def _check_ended(self) -> None:
        """The hang-ups that came in meanwhile, in one read each round: those with an unfinished
        transfer are handled; the rest (nearly every call) need nothing."""
        while self._ended:
            uniqueids = list(self._ended)[:ENDED_BATCH]
            ended = {u: self._ended.pop(u) for u in uniqueids}
            try:
                rows = await self.rt.db.read(OPEN_LEGS, {"uniqueids": uniqueids})
            except Exception:
                log.exception("checking %d hang-ups for unfinished transfers", len(uniqueids))
                continue
            for (uniqueid,) in rows:
                self.spawn(self._handle(ended[uniqueid]))

    async def _handle(self, ev: Event) -> None:
        try:
            async with self._lock, self.rt.db.sessionmaker() as session:
                out = await self._apply(session, ev)
                await commit_and_publish(session, self.rt.hub, out)
        except Exception:
            log.exception("transfer event %s %r", ev.topic, ev.data)

    async def _apply(self, session: AsyncSession, ev: Event) -> list[Event]:
        d = ev.data
        if ev.topic == "call.transfer":
            row = str(d.get("row") or "")
            if row.isdigit():  # arrived over the trunk on the receiving server: link its uniqueid
                t = await session.get(CallTransfer, int(row))
                if t is not None and d.get("uniqueid"):  # (replaces the consultation leg's, see below)
                    t.remote_uniqueid = str(d["uniqueid"])[:64]
                return []
            t = await service.by_id(session, str(d.get("id") or ""))
            status, detail = _status_of(str(d.get("status") or ""))
            if t is None or status is None:
                return []
            if status == tm.ANSWERED and t.kind == "queue":
                return []  # across the trunk: the receiving server's AgentConnect names the agent
            if status in (tm.CONSULTING, tm.ANSWERED) and t.mode == "attended" and d.get("channel"):
                # the consultation leg; once the target answers, the target's own channel (the Local
                # channel of the consultation is optimised away when the call is bridged)
                t.consult_channel = str(d["channel"])[:128]
            if status == tm.CONSULTING and t.kind == "queue" and t.remote_uniqueid is None and d.get("uniqueid"):
                # a consultation with a queue: the queue's events (and the receiving agent's screen-pop)
                # name the consultation leg, not the caller (across the trunk, 'arrived' replaces it)
                t.remote_uniqueid = str(d["uniqueid"])[:64]
            if status == tm.FAILED and t.mode == "attended":
                status = tm.RETURNED  # Asterisk puts the agent back with the caller when the consultation fails
            who = t.label if status == tm.ANSWERED else None
            return [te.updated(t)] if service.set_status(t, status, detail=detail, who=who) else []
        if ev.topic == "agent.connect":
            t = await service.active_for_call(session, str(d.get("uniqueid") or ""))
            if t is None:
                return []
            member = str(d.get("member") or "")
            status = tm.RETURNED if member == t.from_user else tm.ANSWERED
            if status == tm.ANSWERED and t.mode == "attended" and d.get("dest_channel"):
                t.consult_channel = str(d["dest_channel"])[:128]  # a queue's agent: cancel hangs up their leg
            return [te.updated(t)] if service.set_status(t, status, who=member) else []
        if ev.topic == "call.ended":
            return await self._caller_gone(session, str(d.get("uniqueid") or ""))
        return []

    async def _caller_gone(self, session: AsyncSession, uniqueid: str) -> list[Event]:
        """The caller hung up: an unfinished transfer ends (abandoned); a consultation still up is hung
        up so both agents are free; a transfer that was answered gets its end time (record complete)."""
        out = []
        for t in await service.legs(session, uniqueid):
            if t.ended_at is not None:
                continue
            if t.status == tm.ANSWERED and t.mode == "blind":
                t.ended_at = utcnow()
                continue
            consult = t.consult_channel if t.mode == "attended" else None
            if service.set_status(t, tm.ABANDONED):
                out.append(te.updated(t))
                if consult:
                    self.spawn(self._free_both(consult, t.from_interface, t.call_uniqueid))
        return out

    async def _hang_up(self, channel: str) -> None:
        try:
            await service.hang_up(self.rt, None, channel)
        except service.TransferRefused as e:
            log.info("hanging up consultation %s: %s", channel, e)

    async def _free_both(self, consult: str, interface: str, uniqueid: str) -> None:
        """The caller left during a consultation: end it, and the transferring agent's leg of the call."""
        await self._hang_up(consult)
        async with self.rt.db.sessionmaker() as session:
            call = await session.scalar(select(Call).where(Call.uniqueid == uniqueid))
        if call is None:
            return
        try:
            conn = self.rt.require(TELEPHONY).connection_for(call.platform)
            own = await service._agent_channel(conn, call, interface)
        except Exception as e:  # noqa: BLE001 - Asterisk gone: nothing left to hang up
            log.info("looking up %s's channel: %s", interface, e)
            return
        if own:
            await self._hang_up(own)

    async def pop_colleague(self, t: CallTransfer, target: User) -> None:
        """A transfer to a named colleague rings their phone directly (no queue, so no AgentCalled):
        the backend sends their screen-pop itself."""
        async with self.rt.db.sessionmaker() as session:
            pop = await screenpop.build(
                self.rt, session, {"uniqueid": t.call_uniqueid, "queue": "", "ami_received": time.time()}
            )
        iface = f"PJSIP/{target.sip_endpoint}" if target.sip_endpoint else None
        pop["member"], pop["interface"] = target.username, iface
        agents = self.rt.get(AGENTS)
        if agents is not None:
            for key in (target.username, iface):
                if key:
                    agents.last_pop[key] = pop
        await self.rt.hub.publish(Event("agent.screenpop", pop))

    async def close(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


TRANSFERS: Key[Transfers] = Key("transfers")


@asynccontextmanager
async def transfers(rt: Runtime) -> AsyncIterator[None]:
    comp = Transfers(rt)
    rt.put(TRANSFERS, comp)
    rt.put(screenpop.POP_EXTRAS, comp.pop_extra)
    for prefix in TOPICS:
        rt.hub.subscribe(prefix, comp.on_event)
    try:
        yield
    finally:
        await comp.close()
        rt.drop(screenpop.POP_EXTRAS)
        rt.drop(TRANSFERS)
