"""Call-back service: which agent calls back, the call-back row, the Originate that rings the agent's
phone and then the citizen, and the row's progress. No commits here: the boundary commits the new row
(the AMI events that follow must find it) and then calls ``component.start``; the component commits
each step of the row's progress and publishes it."""

from __future__ import annotations

import logging
import re
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents import service as agents
from app.auth.models import User
from app.auth.service import sees_platform
from app.callbacks import models as cbm
from app.callbacks.models import Callback
from app.calls.models import Call
from app.db import utcnow
from app.telephony.ami import AmiConnection
from app.telephony.handlers import OUTBOUND_PREFIX
from app.telephony.lifecycle import TELEPHONY

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger(__name__)
ORDER = {cbm.QUEUED: 0, cbm.ORIGINATING: 0, cbm.DIALING: 1, cbm.CONNECTED: 2, cbm.RETRY: 3, cbm.FAILED: 3,
         cbm.DONE: 3, cbm.GAVE_UP: 3}  # fmt: skip
# no AMI event moves these (a retry starts again as QUEUED with a new channel id: app.callbacks.scheduler)
SETTLED = (cbm.FAILED, cbm.DONE, cbm.GAVE_UP, cbm.RETRY)


class CallbackError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def callback_out(cb: Callback) -> dict[str, Any]:
    return {
        "id": cb.id,
        "status": cb.status,
        "agent": cb.agent,
        "detail": cb.detail,
        "created_at": cb.created_at.isoformat(),
        "channel_id": cb.channel_id,
        "call_uniqueid": cb.call_uniqueid,
        "platform": cb.platform,
        "attempts": cb.attempts or 1,
        "next_attempt_at": cb.next_attempt_at.isoformat() if cb.next_attempt_at else None,
    }


def new_channel_id() -> str:
    return f"{OUTBOUND_PREFIX}{uuid.uuid4().hex[:16]}"


def pick_agent(rt: Runtime, queues: set[str], wanted: str | None) -> tuple[str, str, str]:
    """(member name, interface, server) of an available agent of these queues."""
    tel = rt.require(TELEPHONY)
    for q in sorted(tel.state.queues.values(), key=lambda q: q.name):
        if q.name not in queues:
            continue
        for m in sorted(q.members.values(), key=lambda m: m.since):
            if wanted and m.name != wanted:
                continue
            if agents.derive(agents.members_of(tel.state, m.interface))["state"] == "available":
                return m.name, m.interface, q.server
    raise CallbackError("没有空闲坐席可回拨" if not wanted else f"坐席 {wanted} 不空闲", 409)


async def for_call(
    rt: Runtime, session: AsyncSession, user: User, uniqueid: str, agent: str | None = None
) -> tuple[Callback, AmiConnection]:
    """A call-back of an inbound call from an available agent of its platform (or ``agent``): the row
    (flushed, not committed) and the Asterisk connection that must originate it."""
    call = await session.scalar(select(Call).where(Call.uniqueid == uniqueid))
    if call is None or not sees_platform(user, call.platform):
        raise CallbackError(f"没有这个呼叫 {uniqueid}", 404)
    number = re.sub(r"[^0-9]", "", call.caller or "")
    if not number:
        raise CallbackError("来电号码未知，无法回拨", 409)
    name, iface, server = pick_agent(rt, agents.queues_in(rt, call.platform) or {call.queue or ""}, agent)
    cb = Callback(
        channel_id=new_channel_id(),
        call_uniqueid=uniqueid,
        number=number,
        platform=call.platform,
        agent=name,
        interface=iface,
        requested_by=user.username,
        status=cbm.ORIGINATING,
    )
    session.add(cb)
    await session.flush()
    return cb, rt.require(TELEPHONY).connections[server]


def originate_action(cb: Callback) -> dict[str, Any]:
    """Ring the agent's phone (cb.interface); when it answers, hotline-outbound dials the citizen."""
    return {
        "Action": "Originate",
        "Channel": cb.interface,
        "Context": "hotline-outbound",
        "Exten": cb.number,
        "Priority": "1",
        "CallerID": f'"12345回拨" <{cb.number}>',
        "ChannelId": cb.channel_id,
        "OtherChannelId": f"{cb.channel_id}-2",
        "Timeout": "30000",
        "Variable": f"HOTLINE_CALLBACK={cb.call_uniqueid}",
    }


async def advance(
    session: AsyncSession, channel_id: str, status: str, detail: str | None = None
) -> Callback | None:
    """Move a call-back forward (never back, never out of failed/done); the row, or None when unchanged."""
    cb = await session.scalar(select(Callback).where(Callback.channel_id == channel_id))
    if cb is None or ORDER[status] < ORDER.get(cb.status, 0) or cb.status in SETTLED:
        return None
    cb.status = status
    if detail:
        cb.detail = detail
    if status == cbm.CONNECTED:
        cb.connected_at = utcnow()
    if status in (cbm.FAILED, cbm.DONE, cbm.GAVE_UP):
        cb.ended_at = utcnow()
    await session.flush()
    return cb
