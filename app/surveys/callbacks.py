"""The agents' manual call-back list: missed (abandoned) calls, voicemails, and surveys handed over
after every automated try failed. One click originates from the agent's own softphone to the citizen
through hotline-outbound; the call is followed with the wallboard's call-back rows (stats.Callback,
updated from AMI events) and the agent records the outcome here."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import User
from app.auth.service import sees_platform
from app.calls import models as cm
from app.calls.models import Call
from app.db import utcnow
from app.stats import models as sm
from app.stats import service as stats
from app.surveys import models as m
from app.surveys.models import CallbackTask
from app.surveys.rules import SurveyRules
from app.surveys.service import live_outbound
from app.telephony.handlers import OUTBOUND_PREFIX

if TYPE_CHECKING:
    from app.runtime import Runtime


class CallbackError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


async def sync_missed(session: AsyncSession, now: datetime, lookback_days: int) -> int:
    """Adds abandoned calls and voicemails not on the list yet (idempotent: unique kind + ref)."""
    listed = exists().where(CallbackTask.ref == Call.uniqueid, CallbackTask.kind.in_((m.MISSED, m.VOICEMAIL)))
    rows = (
        await session.execute(
            select(Call.uniqueid, Call.caller, Call.platform, Call.outcome, Call.route)
            .where(
                Call.direction == "in",
                or_(Call.outcome.in_((cm.ABANDONED, cm.VOICEMAIL)), Call.route == "voicemail"),
                Call.arrived_at >= now - timedelta(days=lookback_days),
                Call.caller != "",
                ~listed,
            )
            .limit(500)
        )
    ).all()
    n = 0
    for uid, caller, platform, outcome, route in rows:
        number = re.sub(r"[^0-9]", "", caller or "")
        if not number:
            continue
        voicemail = outcome == cm.VOICEMAIL or route == "voicemail"
        session.add(
            CallbackTask(
                kind=m.VOICEMAIL if voicemail else m.MISSED,
                ref=uid,
                number=number,
                platform=platform,
                reason="来电留言" if voicemail else "排队中放弃",
                created_at=now,
            )
        )
        n += 1
    await session.flush()
    return n


def task_out(t: CallbackTask, cb: sm.Callback | None) -> dict[str, Any]:
    return {
        "id": t.id,
        "kind": t.kind,
        "kind_label": m.KIND_LABELS.get(t.kind, t.kind),
        "number": t.number,
        "platform": t.platform,
        "case_number": t.case_number,
        "reason": t.reason,
        "status": t.status,
        "outcome": t.outcome,
        "outcome_label": m.CB_OUTCOMES.get(t.outcome or "", None),
        "note": t.note,
        "agent": t.agent,
        "dials": t.dials,
        "created_at": t.created_at.isoformat(),
        "call": stats.callback_out(cb) if cb else None,
    }


async def list_tasks(
    session: AsyncSession, user: User, *, include_done: bool = False, limit: int = 200
) -> list[dict[str, Any]]:
    q = select(CallbackTask, sm.Callback).outerjoin(
        sm.Callback, sm.Callback.channel_id == CallbackTask.channel_id
    )
    if not include_done:
        q = q.where(CallbackTask.status == "open")
    if user.platform and not sees_platform(user, None):
        q = q.where(or_(CallbackTask.platform == user.platform, CallbackTask.platform.is_(None)))
    rows = (await session.execute(q.order_by(CallbackTask.created_at.desc()).limit(limit))).all()
    return [task_out(t, cb) for t, cb in rows]


async def _visible(session: AsyncSession, user: User, task_id: int) -> CallbackTask:
    t = await session.get(CallbackTask, task_id)
    if t is None or (t.platform and not sees_platform(user, t.platform)):
        raise CallbackError(f"没有这条回拨任务 {task_id}", 404)
    return t


async def dial(
    rt: Runtime, session: AsyncSession, user: User, task_id: int, rules: SurveyRules
) -> sm.Callback:
    """Rings the agent's softphone; when the agent answers, Asterisk dials the citizen
    (hotline-outbound). Refused when the platform's outbound limit is reached."""
    t = await _visible(session, user, task_id)
    if t.status != "open":
        raise CallbackError("该任务已处理", 409)
    if not user.sip_endpoint:
        raise CallbackError("该用户没有配置话机 (sip_endpoint)", 409)
    now = utcnow()
    live = await live_outbound(session, now)
    if live.get(t.platform, 0) >= rules.limit_for(t.platform):
        raise CallbackError("外呼并发已达上限，请稍后再拨（保障来电接听）", 409)
    tel = rt.components.get("telephony")
    if tel is None:
        raise CallbackError("telephony is not running", 503)
    iface = f"PJSIP/{user.sip_endpoint}"
    cb = sm.Callback(
        channel_id=f"{OUTBOUND_PREFIX}{uuid.uuid4().hex[:16]}",
        call_uniqueid=t.ref if t.kind != m.SURVEY else f"survey-{t.ref}",
        number=t.number,
        platform=t.platform,
        agent=user.username,
        interface=iface,
        requested_by=user.username,
        status=sm.ORIGINATING,
        created_at=now,
    )
    session.add(cb)
    t.channel_id, t.agent, t.dials = cb.channel_id, user.username, t.dials + 1
    await session.commit()  # the AMI events that follow must find the row
    action = {
        "Action": "Originate",
        "Channel": iface,
        "Context": "hotline-outbound",
        "Exten": t.number,
        "Priority": "1",
        "CallerID": f'"12345回拨" <{t.number}>',
        "ChannelId": cb.channel_id,
        "OtherChannelId": f"{cb.channel_id}-2",
        "Timeout": "30000",
        "Variable": f"HOTLINE_CALLBACK={cb.call_uniqueid}",
    }
    conn = tel.connection_for(t.platform)
    comp = rt.components.get("stats")
    if comp is not None:
        comp.spawn(stats._originate(rt, conn, action, cb.channel_id))
    else:  # no wallboard component: send it and let the AMI events tell the rest
        await conn.action(action, timeout=5)
    return cb


async def record_outcome(
    session: AsyncSession, user: User, task_id: int, outcome: str, note: str | None, now: datetime
) -> CallbackTask:
    if outcome not in m.CB_OUTCOMES:
        raise CallbackError(f"outcome must be one of {', '.join(m.CB_OUTCOMES)}", 422)
    t = await _visible(session, user, task_id)
    if t.status != "open":
        raise CallbackError("该任务已处理", 409)
    t.status, t.outcome, t.agent, t.done_at = "done", outcome, user.username, now
    t.note = (note or "").strip()[:255] or None
    await session.flush()
    return t
