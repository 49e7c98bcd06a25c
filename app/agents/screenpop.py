"""The screen-pop: what the agent sees while the phone rings (AgentCalled), before answering."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls.models import Call

if TYPE_CHECKING:
    from app.runtime import Runtime

HISTORY = 10


def region_name(rt: Runtime, code: str | None) -> str:
    if not code:
        return ""
    try:
        p = rt.config.platform(code)
    except KeyError:
        return code
    return p.geo_names[0] if p.geo_names else p.short_name


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
    call = await session.scalar(select(Call).where(Call.uniqueid == uid)) if uid else None
    caller = (call.caller if call else "") or ev.get("caller") or ""
    prefecture = call.prefecture if call else None
    platform = (call.platform if call else None) or ""
    received = float(ev.get("ami_received") or time.time())
    waited = None
    tel = rt.components.get("telephony")
    if tel is not None:
        for q in tel.state.queues.values():
            w = q.waiting.get(uid)
            if w is not None:
                waited = max(0.0, received - w.joined_at)
    if waited is None and call is not None and call.queued_at is not None:
        waited = max(0.0, received - call.queued_at.timestamp())
    earlier = await history(session, caller, call.caller_e164 if call else None, uid)
    region = region_name(rt, prefecture)
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
        "earlier_calls": [_call_brief(c) for c in earlier],
        "form": {
            "channel": "phone",
            "type": "",
            "category_code": "",
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
