"""AMI event handlers. Each updates live state and/or call rows; events to publish go into cx.out
and are published only after the batch's transaction commits."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from sqlalchemy.ext.asyncio import AsyncSession

from app.calls import service as calls
from app.events import Event
from app.telephony.state import MEMBER_STATUS, Member, TelephonyState, Waiting
from callflow.skills import base_queue

log = logging.getLogger(__name__)

# Calls the backend originates (call-backs) carry a ChannelId with this prefix; Asterisk then uses it
# as the Linkedid of every leg, so their events can be told apart without any lookup.
OUTBOUND_PREFIX = "hl-out-"


DECISION_EVENT = "HotlineDecision"  # synthetic: the FastAGI route's decision, written in event order


@dataclass
class Ctx:
    state: TelephonyState
    session: AsyncSession
    queue_platform: dict[str, str]
    out: list[Event] = field(default_factory=list)
    now: float = field(default_factory=time.time)

    @property
    def at(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)

    def emit(self, topic: str, **data: Any) -> None:
        self.out.append(Event(topic, data))


def _int(v: str | None) -> int | None:
    try:
        return int(v) if v not in (None, "") else None
    except ValueError:
        return None


def _caller_uid(ev: dict[str, str]) -> str:
    # AgentComplete may lack caller-side fields when the caller hung up first: fall back to the
    # linked id, which for an inbound call is the caller channel's uniqueid.
    return ev.get("Uniqueid") or ev.get("DestLinkedid") or ev.get("Linkedid", "")


async def queue_caller_join(cx: Ctx, server: str, ev: dict[str, str]) -> None:
    q = cx.state.queue(ev["Queue"], server)
    uid = ev.get("Uniqueid", "")
    q.waiting[uid] = Waiting(
        ev["Queue"], uid, ev.get("CallerIDNum", ""), cx.now, _int(ev.get("Position")) or 0
    )
    await calls.on_queue_join(
        cx.session,
        uniqueid=uid,
        linkedid=ev.get("Linkedid"),
        queue=base_queue(ev["Queue"]),  # a skill queue's call is its platform queue's (callflow.skills)
        caller=ev.get("CallerIDNum", ""),
        platform=cx.queue_platform.get(base_queue(ev["Queue"])),
        server=server,
        at=cx.at,
    )
    cx.emit("queue.caller_join", queue=ev["Queue"], uniqueid=uid, caller=ev.get("CallerIDNum", ""))


async def queue_caller_leave(cx: Ctx, server: str, ev: dict[str, str]) -> None:
    q = cx.state.queue(ev["Queue"], server)
    q.waiting.pop(ev.get("Uniqueid", ""), None)
    cx.emit("queue.caller_leave", queue=ev["Queue"], uniqueid=ev.get("Uniqueid", ""))


async def queue_caller_abandon(cx: Ctx, server: str, ev: dict[str, str]) -> None:
    q = cx.state.queue(ev["Queue"], server)
    q.waiting.pop(ev.get("Uniqueid", ""), None)
    call = await calls.on_abandon(
        cx.session,
        uniqueid=ev.get("Uniqueid", ""),
        queue=base_queue(ev["Queue"]),
        hold_s=_int(ev.get("HoldTime")),
        server=server,
    )
    cx.emit(
        "call.abandoned",
        uniqueid=call.uniqueid,
        queue=ev["Queue"],
        hold_s=_int(ev.get("HoldTime")),
        caller=call.caller,
        platform=call.platform,
    )


async def agent_called(cx: Ctx, server: str, ev: dict[str, str]) -> None:
    cx.emit(
        "agent.called",
        uniqueid=_caller_uid(ev),
        linkedid=ev.get("Linkedid"),
        queue=ev.get("Queue"),
        interface=ev.get("Interface"),
        member=ev.get("MemberName"),
        caller=ev.get("CallerIDNum", ""),
        caller_name=ev.get("CallerIDName", ""),
        ami_received=cx.now,
    )


async def agent_connect(cx: Ctx, server: str, ev: dict[str, str]) -> None:
    uid = _caller_uid(ev)
    if not uid:
        return
    call = await calls.on_agent_connect(
        cx.session,
        uniqueid=uid,
        queue=base_queue(ev.get("Queue", "")),
        agent=ev.get("MemberName", ""),
        interface=ev.get("Interface", ""),
        hold_s=_int(ev.get("HoldTime")),
        at=cx.at,
        server=server,
    )
    cx.emit(
        "agent.connect",
        uniqueid=uid,
        queue=ev.get("Queue"),
        hold_s=_int(ev.get("HoldTime")),
        interface=ev.get("Interface"),
        member=ev.get("MemberName"),
        caller=call.caller,
        platform=call.platform,
        channel=ev.get("Channel"),  # the caller's channel: the live transcript listens to it
        dest_channel=ev.get("DestChannel"),  # the agent's (an attended transfer's cancel hangs it up)
    )


async def agent_complete(cx: Ctx, server: str, ev: dict[str, str]) -> None:
    uid = _caller_uid(ev)
    if not uid:
        # no channel named (both were gone when Asterisk reported it): the member's call is the one
        # AgentConnect bound to it. Dropped, the agent never went to wrap-up (seen under load).
        call = await calls.answered_by(cx.session, interface=ev.get("Interface", ""), server=server)
        uid = call.uniqueid if call is not None else ""
        log.info("AMI %s: AgentComplete naming no channel; %s's call: %s", server, ev.get("Interface"), uid or "none")
    if uid:
        await calls.on_agent_complete(cx.session, uniqueid=uid, talk_s=_int(ev.get("TalkTime")), server=server)
    cx.emit(
        "agent.complete",
        uniqueid=uid,
        queue=ev.get("Queue"),
        interface=ev.get("Interface"),
        member=ev.get("MemberName"),
        reason=ev.get("Reason"),
        server=server,  # wrap-up pauses the member on this server (queue names may repeat across servers)
    )


def _member(cx: Ctx, server: str, ev: dict[str, str]) -> Member:
    q = cx.state.queue(ev["Queue"], server)
    iface = ev.get("StateInterface") or ev.get("Interface", "")
    m = q.members.get(iface)
    if m is None:
        m = q.members[iface] = Member(queue=q.name, interface=iface, name=ev.get("MemberName") or iface)
    return m


def _emit_member(cx: Ctx, m: Member) -> None:
    cx.emit("agent.state", queue=m.queue, interface=m.interface, member=m.name, status=m.status,
            paused=m.paused, reason=m.reason)  # fmt: skip


async def queue_member_status(cx: Ctx, server: str, ev: dict[str, str]) -> None:
    m = _member(cx, server, ev)
    status = MEMBER_STATUS.get(ev.get("Status", "0"), "unknown")
    paused = ev.get("Paused") == "1"
    if status != m.status or paused != m.paused:
        m.since = cx.now
    m.status, m.paused = status, paused
    m.reason = ev.get("PausedReason", m.reason) if paused else ""
    m.calls_taken = _int(ev.get("CallsTaken")) or m.calls_taken
    _emit_member(cx, m)


async def queue_member_added(cx: Ctx, server: str, ev: dict[str, str]) -> None:
    await queue_member_status(cx, server, ev)


async def queue_member_removed(cx: Ctx, server: str, ev: dict[str, str]) -> None:
    q = cx.state.queue(ev["Queue"], server)
    iface = ev.get("StateInterface") or ev.get("Interface", "")
    q.members.pop(iface, None)
    cx.emit(
        "agent.state",
        queue=q.name,
        interface=iface,
        member=ev.get("MemberName"),
        status="logged_out",
        paused=False,
        reason="",
    )


async def queue_member_pause(cx: Ctx, server: str, ev: dict[str, str]) -> None:
    m = _member(cx, server, ev)
    paused = ev.get("Paused") == "1"
    if paused != m.paused:
        m.since = cx.now
    m.paused = paused
    m.reason = ev.get("Reason") or ev.get("PausedReason", "") if paused else ""
    _emit_member(cx, m)


# the dialplan's UserEvents this module acts on; the consumer does not queue the others (a bench's or an
# administrator's own), so they cost no batch and no transaction
USER_EVENTS = frozenset({"HotlineTransfer", "HotlineQueueCallback", "HotlineRoute"})


async def user_event(cx: Ctx, server: str, ev: dict[str, str]) -> None:
    if ev.get("UserEvent") == "HotlineTransfer":  # asterisk_conf/transfer.py; app.transfers reads it
        cx.emit(
            "call.transfer",
            id=ev.get("Id", ""),
            row=ev.get("Row", ""),  # a transfer arriving over the trunk (asterisk_conf.transfer.trunk_in)
            status=ev.get("Status", ""),
            channel=ev.get("Channel", ""),
            uniqueid=ev.get("Uniqueid", ""),
            server=server,
        )
        return
    if ev.get("UserEvent") == "HotlineQueueCallback":  # asterisk_conf/callback.py; app.callbacks.queued reads it
        cx.emit(
            "queue_callback.event",
            id=ev.get("Id", ""),
            status=ev.get("Status", ""),
            uniqueid=ev.get("Uniqueid", ""),
            queue=ev.get("Queue", ""),
            position=ev.get("Position", ""),
            dialstatus=ev.get("Dialstatus", ""),
            server=server,
        )
        return
    if ev.get("UserEvent") != "HotlineRoute":
        return
    fields = {
        "route": ev.get("Route", ""),
        "queue": ev.get("Queue", ""),
        "platform": ev.get("Platform", ""),
        "agi_ms": ev.get("AgiMs", ""),
        "linkedid": ev.get("Linkedid", ""),
        "caller": ev.get("Caller", ""),
        "source": ev.get("Source", "")[:16],
        "did": ev.get("Did", ""),
        # the rest of the decision (agi_handlers.incoming.variables), for the row nobody else writes
        # when FastAGI runs in processes of its own
        "prefecture": ev.get("Prefecture", ""),
        "caller_kind": ev.get("Kind", ""),
        "caller_e164": ev.get("E164", ""),
        "reason": unquote(ev.get("Reason", "")),
        "trunk": ev.get("Trunk", ""),
        "channel": ev.get("Channel", ""),
        "caller_name": ev.get("CallerIDName", ""),
    }
    uid = ev.get("Uniqueid", "")
    call = await calls.on_route_event(cx.session, uid, fields, server, at=cx.at)
    cx.emit(
        "call.routed",
        uniqueid=uid,
        route=call.route,
        queue=fields["queue"],
        platform=call.platform,
        prefecture=call.prefecture,
        caller=call.caller,
    )


async def dial_end(cx: Ctx, server: str, ev: dict[str, str]) -> None:
    linkedid = ev.get("Linkedid", "")
    if linkedid.startswith(OUTBOUND_PREFIX):
        cx.emit(
            "outbound.dial_end",
            linkedid=linkedid,
            status=ev.get("DialStatus", ""),
            dest=ev.get("DestChannel", ""),
            server=server,
        )


async def hangup(cx: Ctx, server: str, ev: dict[str, str]) -> None:
    uid = ev.get("Uniqueid", "")
    if uid.startswith(OUTBOUND_PREFIX) and uid == ev.get("Linkedid"):
        cx.emit("outbound.hangup", linkedid=uid, cause=ev.get("Cause-txt", ""), server=server)
        return
    for q in cx.state.queues.values():
        q.waiting.pop(uid, None)
    call = await calls.on_hangup(cx.session, uniqueid=uid, cause=ev.get("Cause-txt"), at=cx.at)
    if call is not None:
        cx.emit("call.ended", uniqueid=uid, outcome=call.outcome, platform=call.platform, queue=call.queue)


async def decision(cx: Ctx, server: str, ev: dict[str, Any]) -> None:
    item = ev["_item"]
    call = await calls.record_decision(cx.session, **item)
    cx.emit(
        "call.decided",
        uniqueid=call.uniqueid,
        platform=call.platform,
        prefecture=call.prefecture,
        route=call.route,
        queue=call.queue,
        caller=call.caller,
    )
