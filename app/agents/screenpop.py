"""The screen-pop: what the agent sees while the phone rings (AgentCalled), before answering."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls.models import Call
from app.runtime import Key
from app.telephony.lifecycle import TELEPHONY

if TYPE_CHECKING:
    from app.runtime import Runtime

HISTORY = 10

# What a domain above agents adds to a screen-pop (the transfers domain: who transferred the call,
# their note and the case so far), by the caller's uniqueid; None when it has nothing to add.
PopExtra = Callable[[AsyncSession, str], Awaitable[dict[str, Any] | None]]
POP_EXTRAS: Key[PopExtra] = Key("screenpop_extras")


def region_name(rt: Runtime, code: str | None) -> str:
    if not code:
        return ""
    try:
        p = rt.config.platform(code)
    except KeyError:
        return code
    return p.geo_names[0] if p.geo_names else p.short_name


def hotline_of(rt: Runtime, code: str | None) -> dict[str, Any]:
    """The source hotline a call came in on (并号/分线): code, name, kind, the category it prefills."""
    h = rt.config.hotlines.by_code(code) if code else None
    if h is None:
        h = rt.config.hotlines.unified
    return {"code": h.code, "name": h.name, "kind": h.kind, "skill": h.skill, "category": h.category}


def _call_brief(c: Call) -> dict[str, Any]:
    return {
        "uniqueid": c.uniqueid,
        "arrived_at": c.arrived_at.isoformat(),
        "outcome": c.outcome,
        "queue": c.queue,
        "agent": c.agent,
        "talk_s": c.talk_s,
        "platform": c.platform,
    }


async def history(
    session: AsyncSession, caller: str, e164: str | None, exclude: str | None, limit: int = HISTORY
) -> list[Call]:
    if not caller and not e164:
        return []
    conds = [Call.caller == caller] if caller else []
    if e164:
        conds.append(Call.caller_e164 == e164)
    q = select(Call).where(or_(*conds), Call.direction == "in")
    if exclude:
        q = q.where(Call.uniqueid != exclude)
    return list(await session.scalars(q.order_by(Call.arrived_at.desc()).limit(limit)))


async def build(rt: Runtime, session: AsyncSession, ev: dict[str, Any]) -> dict[str, Any]:
    """ev: the agent.called event data (uniqueid, caller, queue, ami_received)."""
    uid = ev.get("uniqueid") or ""
    # first, before this session's own reads (on SQLite a read here takes the write lock that the
    # extra's provider may be waiting to commit with)
    extra = rt.get(POP_EXTRAS)
    transfer = await extra(session, uid) if extra is not None and uid else None
    call = await session.scalar(select(Call).where(Call.uniqueid == uid)) if uid else None
    origin = transfer.get("uniqueid") if transfer else None
    if origin and origin != uid and (call is None or not call.prefecture):
        # a transfer that crossed the trunk: this server's call row knows nothing of the caller's
        # region; the prefecture's call row does
        call = await session.scalar(select(Call).where(Call.uniqueid == origin)) or call
    caller = (call.caller if call else "") or ev.get("caller") or ""
    prefecture = call.prefecture if call else None
    platform = (call.platform if call else None) or ""
    received = float(ev.get("ami_received") or time.time())
    waited = None
    tel = rt.get(TELEPHONY)
    if tel is not None:
        for q in tel.state.queues.values():
            w = q.waiting.get(uid)
            if w is not None:
                waited = max(0.0, received - w.joined_at)
    if waited is None and call is not None and call.queued_at is not None:
        waited = max(0.0, received - call.queued_at.timestamp())
    earlier = await history(session, caller, call.caller_e164 if call else None, uid)
    region = region_name(rt, prefecture)
    source = hotline_of(rt, call.source_hotline if call else None)
    return {
        "type": "screenpop",
        "uniqueid": uid,
        "linkedid": ev.get("linkedid"),
        "queue": ev.get("queue"),
        "caller": caller,
        "caller_name": (call.caller_name if call else None) or ev.get("caller_name") or "",
        "caller_kind": call.caller_kind if call else None,
        "prefecture": prefecture,
        "region": region,
        "platform": platform,
        "waited_s": round(waited, 1) if waited is not None else None,
        "hotline": source,
        "transfer": transfer,
        "dialled": (call.did if call else None) or "",
        "earlier_calls": [_call_brief(c) for c in earlier],
        "form": {
            "channel": "phone",
            "type": "",
            "category_code": source["category"] or "",
            "summary": "",
            "detail": "",
            "citizen_name": "",
            "citizen_phone": caller,
            "platform": platform or None,
            "prefecture": prefecture,
            "call_uniqueid": None,
        },
        "ami_received": received,
        "sent_at": time.time(),
    }
