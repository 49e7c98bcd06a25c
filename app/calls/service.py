"""Call rows, kept current from the AGI decision and from AMI events. No commits here.

Every function is an upsert keyed on the caller channel's uniqueid, so events may arrive in any
order (or the AGI step may never have run, when the backend was down: route becomes 'fallback').
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls import models as m
from app.calls.models import Call
from app.db import utcnow

FINAL = {m.COMPLETED, m.ABANDONED, m.VOICEMAIL, m.UNANSWERED}


# built once: the AMI consumer runs it for every batch of events, and building the statement cost
# more CPU than PostgreSQL's answer
PRELOAD = (
    select(Call)
    .where(Call.uniqueid.in_(bindparam("uids", expanding=True)) | Call.linkedid.in_(bindparam("lids", expanding=True)))
    .order_by(Call.id)
)


def _cache(session: AsyncSession) -> dict[str, Call | None]:
    """Calls looked up in this session (one AMI batch): an event burst for one call costs one SELECT."""
    return session.info.setdefault("calls_by_uid", {})  # type: ignore[no-any-return]


async def preload(session: AsyncSession, ids: set[str]) -> None:
    """Loads every call a batch of events may touch, by uniqueid and by linkedid, in a few queries;
    ids that match nothing are cached as misses, so the batch runs without per-event SELECTs."""
    cache = _cache(session)
    linked: dict[str, Call | None] = session.info.setdefault("calls_by_linkedid", {})
    todo = sorted(i for i in ids if i and i not in cache)
    for n in range(0, len(todo), 500):
        chunk = todo[n : n + 500]
        rows = await session.scalars(PRELOAD, {"uids": chunk, "lids": chunk})
        for call in rows:
            cache[call.uniqueid] = call
            if call.linkedid and call.direction == "in":
                linked.setdefault(call.linkedid, call)
        for i in chunk:
            cache.setdefault(i, None)
            linked.setdefault(i, None)


async def find(session: AsyncSession, uniqueid: str, *, by_linkedid: bool = False) -> Call | None:
    cache = _cache(session)
    if uniqueid in cache:
        call = cache[uniqueid]
    else:
        call = await session.scalar(select(Call).where(Call.uniqueid == uniqueid))
        cache[uniqueid] = call
    if call is None and by_linkedid and uniqueid:
        # agent-side events may only carry the linked id (the caller hung up first)
        linked: dict[str, Call | None] = session.info.setdefault("calls_by_linkedid", {})
        if uniqueid in linked and linked[uniqueid] is not None:
            return linked[uniqueid]
        for c in cache.values():  # created earlier in this batch
            if c is not None and c.linkedid == uniqueid and c.direction == "in":
                return c
        if uniqueid not in linked:
            call = await session.scalar(
                select(Call)
                .where(Call.linkedid == uniqueid, Call.direction == "in")
                .order_by(Call.id)
                .limit(1)
            )
            linked[uniqueid] = call
    return call


async def get_or_create(
    session: AsyncSession, uniqueid: str, *, by_linkedid: bool = False, **defaults: Any
) -> Call:
    call = await find(session, uniqueid, by_linkedid=by_linkedid)
    if call is None:
        call = Call(uniqueid=uniqueid, **defaults)
        call.is_test = m.is_simulated(uniqueid, defaults.get("linkedid"))
        for key, value in call.__table__.columns.items():  # Python-side defaults now, not at flush
            if getattr(call, key) is None and value.default is not None and not callable(value.default.arg):
                setattr(call, key, value.default.arg)
        if call.arrived_at is None:
            call.arrived_at = utcnow()
        session.add(call)
        _cache(session)[uniqueid] = call
    return call


# the decision's fields the HotlineRoute event carries besides route, queue and platform: written where
# the row has none yet (with FastAGI in processes of its own the event is the decision's only record)
ROUTE_EVENT_FIELDS = {
    name: Call.__table__.c[name].type.length  # type: ignore[attr-defined]
    for name in ("prefecture", "caller_kind", "caller_e164", "reason", "trunk", "channel", "caller_name")
}


async def record_decision(
    session: AsyncSession,
    *,
    uniqueid: str,
    linkedid: str | None,
    channel: str | None,
    caller: str,
    caller_name: str | None,
    trunk: str | None,
    decision: dict[str, Any],
    server: str = "main",
    at: datetime | None = None,
) -> Call:
    call = await get_or_create(session, uniqueid, linkedid=linkedid, server=server, caller=caller)
    call.linkedid = linkedid or call.linkedid
    call.is_test = call.is_test or m.is_simulated(call.linkedid)
    call.channel = channel
    call.caller = caller
    call.caller_name = caller_name
    call.trunk = trunk
    call.caller_e164 = decision.get("caller_e164")
    call.caller_kind = decision.get("caller_kind")
    call.prefecture = decision.get("prefecture")
    call.platform = decision.get("platform")
    call.route = decision.get("route")
    call.reason = (decision.get("reason") or "")[: ROUTE_EVENT_FIELDS["reason"]] or None  # a longer one would fail the batch
    call.source_hotline = decision.get("hotline") or call.source_hotline
    call.did = decision.get("dnid") or call.did
    if decision.get("route") == "queue":
        call.queue = call.queue or decision.get("queue")
    call.routed_at = at or utcnow()
    return call


async def on_route_event(
    session: AsyncSession, uniqueid: str, fields: dict[str, str], server: str, at: datetime | None = None
) -> Call:
    """The dialplan's own account of the route taken (UserEvent HotlineRoute): the whole decision."""
    call = await get_or_create(session, uniqueid, server=server, caller=fields.get("caller", ""))
    for name, width in ROUTE_EVENT_FIELDS.items():
        if getattr(call, name) is None and fields.get(name):
            setattr(call, name, fields[name][:width])
    call.routed_at = call.routed_at or at or utcnow()
    route = fields.get("route") or "fallback"
    if not call.route or route == "fallback":
        call.route = route
    if route == "fallback":
        # the routing failed (even one the FastAGI process had written down before it died): the dialplan
        # sent the call to the default queue of the platform it names, which then answers for it (the row
        # counts for that platform even when the caller hangs up before reaching the queue)
        call.queue = fields.get("queue") or call.queue
        call.platform = fields.get("platform") or call.platform
    else:
        # the FastAGI process's own record of the decision may not have arrived (it restarted, or its
        # write failed): the dialplan's account names the queue and platform too
        call.platform = call.platform or fields.get("platform") or None
        if route == "queue":
            call.queue = call.queue or fields.get("queue") or None
    if fields.get("agi_ms"):
        try:
            call.agi_ms = float(fields["agi_ms"])
        except ValueError:
            pass
    if route == "voicemail":
        call.outcome = m.VOICEMAIL if call.outcome == m.IN_PROGRESS else call.outcome
    call.linkedid = call.linkedid or fields.get("linkedid")
    call.source_hotline = call.source_hotline or fields.get("source") or None
    call.did = call.did or (fields.get("did") or "")[:32] or None
    return call


async def on_queue_join(
    session: AsyncSession,
    *,
    uniqueid: str,
    linkedid: str | None,
    queue: str,
    caller: str,
    platform: str | None,
    server: str,
    at: datetime,
) -> Call:
    call = await get_or_create(session, uniqueid, linkedid=linkedid, server=server, caller=caller)
    if not call.route:
        call.route = "fallback"  # the backend never saw it: the dialplan's default queue
        call.platform = platform
    call.queue = queue
    call.queued_at = call.queued_at or at
    if call.outcome == m.IN_PROGRESS:
        call.outcome = m.QUEUED
    return call


async def on_agent_connect(
    session: AsyncSession,
    *,
    uniqueid: str,
    queue: str,
    agent: str,
    interface: str,
    hold_s: int | None,
    at: datetime,
    server: str,
) -> Call:
    call = await get_or_create(session, uniqueid, server=server, by_linkedid=True)
    call.queue = queue
    call.agent = agent
    call.agent_interface = interface
    call.hold_s = hold_s
    call.answered_at = call.answered_at or at
    call.outcome = m.ANSWERED
    return call


# how far back a member's answered call is looked for when AgentComplete names no channel: longer than
# any call, short enough that the lookup stays on the arrived_at index
ANSWERED_WITHIN = timedelta(hours=12)


async def answered_by(session: AsyncSession, *, interface: str, server: str) -> Call | None:
    """The call this queue member last answered on this server (AgentConnect bound it to the member).

    Asterisk 16 builds AgentComplete from the latest snapshots of the caller's and the agent's
    channels; when both are gone before its queue thread reports the hangup (seen under load), the
    event names no channel at all, only Queue, Interface, MemberName, HoldTime, TalkTime and Reason.
    Calls touched earlier in this batch (not flushed: the consumer flushes once) count too."""
    if not interface:
        return None

    def mine(c: Call | None) -> bool:
        return c is not None and c.agent_interface == interface and c.server == server and c.answered_at is not None

    found = [c for c in _cache(session).values() if c is not None and mine(c)]
    row = await session.scalar(
        select(Call)
        .where(
            Call.agent_interface == interface,
            Call.server == server,
            Call.answered_at.is_not(None),
            Call.arrived_at >= utcnow() - ANSWERED_WITHIN,
        )
        .order_by(Call.answered_at.desc(), Call.id.desc())
        .limit(1)
    )
    if row is not None and mine(row):  # its unflushed state may say otherwise
        found.append(row)
    return max(found, key=lambda c: (c.answered_at, c.id or 0)) if found else None


async def on_agent_complete(session: AsyncSession, *, uniqueid: str, talk_s: int | None, server: str) -> Call:
    call = await get_or_create(session, uniqueid, server=server, by_linkedid=True)
    call.talk_s = talk_s
    call.outcome = m.COMPLETED
    return call


async def on_abandon(
    session: AsyncSession, *, uniqueid: str, queue: str, hold_s: int | None, server: str
) -> Call:
    call = await get_or_create(session, uniqueid, server=server)
    call.queue = queue
    call.hold_s = hold_s
    call.outcome = m.ABANDONED
    return call


async def on_hangup(session: AsyncSession, *, uniqueid: str, cause: str | None, at: datetime) -> Call | None:
    call = await find(session, uniqueid)
    if call is None:
        return None
    call.ended_at = call.ended_at or at
    call.hangup_cause = cause
    if call.outcome == m.ANSWERED:
        call.outcome = m.COMPLETED
        if call.talk_s is None and call.answered_at:
            call.talk_s = int((at - call.answered_at).total_seconds())
    elif call.outcome == m.QUEUED:
        call.outcome = m.ABANDONED
    elif call.outcome == m.IN_PROGRESS:
        call.outcome = m.VOICEMAIL if call.route == "voicemail" else m.UNANSWERED
    return call


async def list_calls(
    session: AsyncSession,
    *,
    platforms: set[str] | None,
    caller: str | None = None,
    outcome: str | None = None,
    limit: int = 100,
    offset: int = 0,
    hotline: str | None = None,
) -> tuple[list[Call], int]:
    q = select(Call)
    if hotline:
        q = q.where(Call.source_hotline == hotline)
    if platforms is not None:
        q = q.where(Call.platform.in_(platforms))
    if caller:
        q = q.where((Call.caller == caller) | (Call.caller_e164 == caller))
    if outcome:
        q = q.where(Call.outcome == outcome)
    total = await session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = await session.scalars(
        q.order_by(Call.arrived_at.desc(), Call.id.desc()).limit(limit).offset(offset)
    )
    return list(rows), int(total)


async def get_call(session: AsyncSession, uniqueid: str) -> Call | None:
    return await session.scalar(select(Call).where(Call.uniqueid == uniqueid))
