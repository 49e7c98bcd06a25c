"""Live transfers: what an agent may transfer, to whom, and what Asterisk is asked to do. No commits.

The call being transferred is the agent's answered call (the call row the AMI consumer keeps). A
target that cannot take the call *now* (a queue with nobody signed in, a colleague who is not free)
is refused before the caller leaves the agent: the clearest outcome of all. What fails later (nobody
answers within the ring time) sends the caller back through the dialplan (asterisk_conf/transfer.py).
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents import service as agents
from app.auth.models import Role, User
from app.calls import models as cm
from app.calls.models import Call
from app.cases.models import Case
from app.db import utcnow
from app.telephony.ami import AmiError
from app.telephony.lifecycle import TELEPHONY
from app.transfers import models as tm
from app.transfers.models import CallTransfer
from callflow.transfer import TransferError, TransferPlan, plan_transfer

if TYPE_CHECKING:
    from app.runtime import Runtime

CONSULT_EXTEN = "700"  # [hotline-xfer-consult] in asterisk_conf/transfer.py


class TransferRefused(Exception):
    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


async def current_call(session: AsyncSession, user: User) -> Call | None:
    """The call the agent is talking on now (answered by them, not ended)."""
    return await session.scalar(
        select(Call)
        .where(Call.agent == user.username, Call.outcome == cm.ANSWERED, Call.ended_at.is_(None))
        .order_by(Call.answered_at.desc())
        .limit(1)
    )


async def active_for_call(session: AsyncSession, uniqueid: str) -> CallTransfer | None:
    """The transfer under way for this call: by the caller's uniqueid, or (across the trunk) by the
    uniqueid the call has on the receiving server."""
    return await session.scalar(
        select(CallTransfer)
        .where(
            (CallTransfer.call_uniqueid == uniqueid) | (CallTransfer.remote_uniqueid == uniqueid),
            CallTransfer.status.in_(tm.ACTIVE),
        )
        .order_by(CallTransfer.id.desc())
        .limit(1)
    )


async def by_id(session: AsyncSession, xfer_id: str) -> CallTransfer | None:
    return await session.scalar(select(CallTransfer).where(CallTransfer.xfer_id == xfer_id))


async def legs(session: AsyncSession, uniqueid: str) -> list[CallTransfer]:
    return list(
        await session.scalars(
            select(CallTransfer).where(CallTransfer.call_uniqueid == uniqueid).order_by(CallTransfer.id)
        )
    )


async def case_of_call(session: AsyncSession, uniqueid: str) -> Case | None:
    """The case started so far on this call (the latest one taken on it)."""
    return await session.scalar(
        select(Case).where(Case.call_uniqueid == uniqueid).order_by(Case.id.desc()).limit(1)
    )


async def colleague(session: AsyncSession, username: str) -> User:
    user = await session.scalar(
        select(User).where(User.username == username, User.role == Role.agent, User.active.is_(True))
    )
    if user is None:
        raise TransferRefused(f"没有这位坐席：{username}", 404)
    return user


def _check_reachable(rt: Runtime, plan: TransferPlan, target_user: User | None) -> None:
    tel = rt.get(TELEPHONY)
    if tel is None:
        raise TransferRefused("电话系统未运行，无法转接", 503)
    if plan.kind == "queue":
        # signed in, paused or not: an agent in wrap-up (15 s by default) takes the caller right after it
        signed_in = (tel.state.signed_in_by_queue() or {}).get(plan.queue or "")
        if signed_in == 0:
            raise TransferRefused(f"{plan.label} 当前无坐席签入，无法转接；来电仍在您这里")
    elif plan.kind == "agent" and target_user is not None:
        view = agents.agent_view(tel.state, target_user)
        if view["state"] not in ("available", "logged_out"):
            raise TransferRefused(f"同事 {plan.label} 当前{view['label']}，无法转接；来电仍在您这里")


async def plan_for(
    rt: Runtime, session: AsyncSession, user: User, kind: str, target: str
) -> tuple[TransferPlan, User | None]:
    target_user = None
    try:
        if kind == "agent":
            target_user = await colleague(session, target)
            if target_user.id == user.id:
                raise TransferRefused("不能转接给自己")
            plan = plan_transfer(
                rt.config, kind, target, agent_endpoint=target_user.sip_endpoint,
                agent_label=f"{target_user.display_name or target_user.username}（{target_user.platform}）",
            )  # fmt: skip
            plan = replace(plan, platform=target_user.platform)  # (the colleague's server may be another)
        else:
            plan = plan_transfer(rt.config, kind, target)
    except TransferError as e:
        raise TransferRefused(str(e), 400) from e
    _check_reachable(rt, plan, target_user)
    return plan, target_user


async def request(
    rt: Runtime, session: AsyncSession, user: User, *, kind: str, target: str, mode: str, note: str
) -> tuple[CallTransfer, TransferPlan, Call, User | None]:
    """Validate and record a transfer of the agent's current call (status requested); the colleague
    for kind agent."""
    call = await current_call(session, user)
    if call is None or not call.channel:
        raise TransferRefused("您当前没有可转接的通话")
    if await active_for_call(session, call.uniqueid) is not None:
        raise TransferRefused("这通电话正在转接中")
    plan, target_user = await plan_for(rt, session, user, kind, target)
    case = await case_of_call(session, call.uniqueid)
    t = CallTransfer(
        xfer_id=f"xf-{secrets.token_hex(6)}",
        call_uniqueid=call.uniqueid,
        mode=mode,
        kind=plan.kind,
        target=plan.target,
        label=plan.label,
        to_platform=plan.platform,
        from_user=user.username,
        from_platform=user.platform,
        from_interface=agents.interface_of(user),
        from_queue=call.queue,
        note=note,
        case_number=case.number if case else None,
        status=tm.REQUESTED,
        requested_at=utcnow(),
    )
    session.add(t)
    await session.flush()
    return t, plan, call, target_user


def server_of(rt: Runtime, platform: str | None) -> str | None:
    """The name of the Asterisk server that serves a platform (None: every server serves it)."""
    for srv in rt.settings.asterisk:
        if srv.platforms and platform in srv.platforms:
            return str(srv.name)
    return None


def trunk_target(rt: Runtime, call: Call, plan: TransferPlan) -> str | None:
    """The other server a transfer to a queue or a colleague must cross the trunk to (None: the same
    server)."""
    if plan.kind not in ("queue", "agent"):
        return None
    target = server_of(rt, plan.platform)
    return target if target is not None and target != call.server else None


def _xfer_value(rt: Runtime, t: CallTransfer, plan: TransferPlan, call: Call) -> str:
    back_queue = t.from_queue or rt.config.default_queue
    peer = trunk_target(rt, call, plan)
    if peer is not None and plan.kind == "agent":  # across the IAX2 trunk: *<the colleague's endpoint>
        plan = replace(plan, dial=f"IAX2/{peer}/*{(plan.dial or '').removeprefix('PJSIP/')}")
    elif peer is not None:  # across the IAX2 trunk: the extension names the queue and the transfer row
        index = rt.config.all_queues().index(plan.queue)
        plan = replace(plan, kind="trunk", queue=None, dial=f"IAX2/{peer}/{index:02d}{t.id}")  # type: ignore[arg-type]
    try:
        return plan.channel_value(t.xfer_id, rt.config.transfer.ring_s, t.from_interface, back_queue)
    except TransferError as e:
        raise TransferRefused(str(e), 400) from e


async def _agent_channel(conn: Any, call: Call, interface: str) -> str | None:
    """The agent's own channel of this call (Atxfer starts from it), from Asterisk's channel list."""
    rows = await conn.action({"Action": "CoreShowChannels"}, as_list=True, timeout=5)
    for r in rows:
        ch = r.get("Channel", "")
        if ch.startswith(interface + "-") and call.linkedid and r.get("Linkedid") == call.linkedid:
            return str(ch)
    for r in rows:  # without a linked id: the agent's only live channel
        ch = r.get("Channel", "")
        if ch.startswith(interface + "-") and r.get("Event") == "CoreShowChannel":
            return str(ch)
    return None


async def send(rt: Runtime, t: CallTransfer, plan: TransferPlan, call: Call) -> None:
    """Ask Asterisk: blind = Setvar + Redirect of the caller's channel; attended = Setvar + Atxfer on
    the agent's channel. Raises TransferRefused (the caller is still with the agent) on failure."""
    tel = rt.require(TELEPHONY)
    conn = tel.connections.get(call.server) or tel.connection_for(call.platform)
    value = _xfer_value(rt, t, plan, call)
    try:
        if t.mode == "blind":
            await conn.action({"Action": "Setvar", "Channel": call.channel, "Variable": "HOTLINE_XFER",
                               "Value": value}, timeout=5)  # fmt: skip
            await conn.action({"Action": "Redirect", "Channel": call.channel, "Context": "hotline-transfer",
                               "Exten": "s", "Priority": "1"}, timeout=5)  # fmt: skip
        else:
            own = await _agent_channel(conn, call, t.from_interface)
            if own is None:
                raise TransferRefused("找不到您的通话信道，无法咨询转接", 409)
            await conn.action({"Action": "Setvar", "Channel": own, "Variable": "__HOTLINE_XFER",
                               "Value": value}, timeout=5)  # fmt: skip
            await conn.action({"Action": "Atxfer", "Channel": own, "Exten": CONSULT_EXTEN,
                               "Context": "hotline-xfer-consult"}, timeout=5)  # fmt: skip
    except AmiError as e:
        raise TransferRefused(f"Asterisk 拒绝转接（{e}），来电仍在您这里", 502) from e


def set_status(t: CallTransfer, status: str, *, detail: str | None = None, who: str | None = None,
               at: datetime | None = None) -> bool:  # fmt: skip
    """Move a transfer on; False when nothing changed (a late or repeated event)."""
    if t.status == status or t.status not in tm.ACTIVE | {tm.ANSWERED}:
        return False
    if t.status == tm.ANSWERED and status not in (tm.COMPLETED, tm.CANCELLED, tm.ABANDONED):
        return False  # (an attended transfer is cancelled after the target answered: the agent consulted)
    now = at or utcnow()
    t.status = status
    if detail:
        t.detail = detail[:255]
    if who:
        t.answered_by = who[:128]
    if status in (tm.ANSWERED, tm.RETURNED) and t.answered_at is None:
        t.answered_at = now
    if status not in tm.ACTIVE and status != tm.ANSWERED:
        t.ended_at = t.ended_at or now
    return True


async def hang_up(rt: Runtime, call_platform: str | None, channel: str) -> None:
    """Hang up a channel: on the call's server first, then on the others (a consultation across the
    trunk is answered by a channel on the receiving server)."""
    tel = rt.require(TELEPHONY)
    first = tel.connection_for(call_platform)
    error: AmiError | None = None
    for conn in [first, *(c for c in tel.connections.values() if c is not first)]:
        try:
            await conn.action({"Action": "Hangup", "Channel": channel}, timeout=5)
            return
        except AmiError as e:
            error = error or e
    raise TransferRefused(f"Asterisk: {error}", 502)
