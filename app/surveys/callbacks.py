"""The agents' manual call-back list: missed (abandoned) calls, voicemails, and surveys handed over
after every automated try failed. One click originates from the agent's own softphone to the citizen
through hotline-outbound; the call is a call-back of app.callbacks (its row follows the AMI events) and
the agent records the outcome here. No commits: app.surveys.router commits."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import User
from app.auth.service import sees_platform
from app.callbacks import models as cbm
from app.callbacks import service as callbacks
from app.callbacks.models import Callback
from app.calls import models as cm
from app.calls.models import Call
from app.db import utcnow
from app.surveys import models as m
from app.surveys.models import CallbackTask
from app.surveys.rules import SurveyRules
from app.surveys.service import live_outbound
from app.telephony.ami import AmiConnection
from app.telephony.lifecycle import TELEPHONY

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
            select(Call.uniqueid, Call.caller, Call.platform, Call.outcome, Call.route, Call.arrived_at)
            .where(
                Call.direction == "in",
                Call.is_test.is_(False),  # a simulated call has no citizen to call back
                or_(Call.outcome.in_((cm.ABANDONED, cm.VOICEMAIL)), Call.route == "voicemail"),
                Call.arrived_at >= now - timedelta(days=lookback_days),
                Call.caller != "",
                ~listed,
            )
            .limit(500)
        )
    ).all()
    n = 0
    for uid, caller, platform, outcome, route, arrived_at in rows:
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
                created_at=arrived_at,  # the time the citizen called, not the time the list was made
            )
        )
        n += 1
    await session.flush()
    return n


def task_out(t: CallbackTask, cb: Callback | None) -> dict[str, Any]:
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
        "call": callbacks.callback_out(cb) if cb else None,
    }


async def list_tasks(
    session: AsyncSession, user: User, *, include_done: bool = False, limit: int = 200
) -> list[dict[str, Any]]:
    q = select(CallbackTask, Callback).outerjoin(Callback, Callback.channel_id == CallbackTask.channel_id)
    if not include_done:
        q = q.where(CallbackTask.status == "open")
    if user.platform and not sees_platform(user, None):
        q = q.where(or_(CallbackTask.platform == user.platform, CallbackTask.platform.is_(None)))
    rows = (await session.execute(q.order_by(CallbackTask.created_at.desc(), CallbackTask.id.desc()))).all()
    # one row per citizen (number and platform): the latest entry, with how many there are and the
    # time of each missed call; its outcome closes them all (record_outcome)
    out: list[dict[str, Any]] = []
    first: dict[tuple[str, str | None, str], dict[str, Any]] = {}
    for t, cb in rows:
        key = (t.number, t.platform, t.status if t.status == "open" else f"done-{t.id}")
        if key in first:
            first[key]["entries"] += 1
            first[key]["times"].append(t.created_at.isoformat())
            continue
        if len(out) >= limit:
            continue
        row = task_out(t, cb) | {"entries": 1, "times": [t.created_at.isoformat()]}
        first[key] = row
        out.append(row)
    return out


async def _visible(session: AsyncSession, user: User, task_id: int) -> CallbackTask:
    t = await session.get(CallbackTask, task_id)
    if t is None or (t.platform and not sees_platform(user, t.platform)):
        raise CallbackError(f"没有这条回拨任务 {task_id}", 404)
    return t


async def dial(
    rt: Runtime, session: AsyncSession, user: User, task_id: int, rules: SurveyRules
) -> tuple[Callback, AmiConnection]:
    """The call-back row (flushed; the boundary commits it, then app.callbacks.component.start rings the
    agent's softphone and, when the agent answers, Asterisk dials the citizen through hotline-outbound)
    and the connection to originate it on. Refused when the platform's outbound limit is reached."""
    t = await _visible(session, user, task_id)
    if t.status != "open":
        raise CallbackError("该任务已处理", 409)
    if not user.sip_endpoint:
        raise CallbackError("该用户没有配置话机 (sip_endpoint)", 409)
    now = utcnow()
    live = await live_outbound(session, now)
    if live.get(t.platform, 0) >= rules.limit_for(t.platform):
        raise CallbackError("外呼并发已达上限，请稍后再拨（保障来电接听）", 409)
    tel = rt.get(TELEPHONY)
    if tel is None:
        raise CallbackError("电话系统未运行", 503)
    iface = f"PJSIP/{user.sip_endpoint}"
    cb = Callback(
        channel_id=callbacks.new_channel_id(),
        call_uniqueid=t.ref if t.kind != m.SURVEY else f"survey-{t.ref}",
        number=t.number,
        platform=t.platform,
        agent=user.username,
        interface=iface,
        requested_by=user.username,
        status=cbm.ORIGINATING,
        created_at=now,
    )
    session.add(cb)
    t.channel_id, t.agent, t.dials = cb.channel_id, user.username, t.dials + 1
    await session.flush()
    return cb, tel.connection_for(t.platform)


async def record_outcome(
    session: AsyncSession, user: User, task_id: int, outcome: str, note: str | None, now: datetime
) -> CallbackTask:
    if outcome not in m.CB_OUTCOMES:
        raise CallbackError(f"回访结果只能是 {', '.join(m.CB_OUTCOMES)}", 422)
    t = await _visible(session, user, task_id)
    if t.status != "open":
        raise CallbackError("该任务已处理", 409)
    t.status, t.outcome, t.agent, t.done_at = "done", outcome, user.username, now
    t.note = (note or "").strip()[:255] or None
    same = await session.scalars(  # the citizen's other open entries: one call-back answers them all
        select(CallbackTask).where(
            CallbackTask.status == "open",
            CallbackTask.number == t.number,
            CallbackTask.id != t.id,
            CallbackTask.platform == t.platform if t.platform else CallbackTask.platform.is_(None),
        )
    )
    for other in same:
        other.status, other.outcome, other.agent, other.done_at, other.note = "done", outcome, user.username, now, t.note
    await session.flush()
    return t
