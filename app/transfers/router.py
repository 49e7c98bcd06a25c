"""Live transfer from the agent desktop (blind or attended) and the call record's legs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from app.agents import service as agents
from app.auth.deps import require_roles
from app.auth.models import Role, User
from app.auth.service import sees_platform
from app.calls.models import Call
from app.db import utcnow
from app.deps import SessionDep
from app.events import commit_and_publish
from app.telephony.lifecycle import TELEPHONY
from app.transfers import events as te
from app.transfers import models as tm
from app.transfers import service
from app.transfers.component import TRANSFERS

router = APIRouter(tags=["transfers"])
Agent = Annotated[User, Depends(require_roles(Role.agent))]
Staff = Annotated[User, Depends(require_roles(Role.agent, Role.supervisor, Role.admin))]


class TransferIn(BaseModel):
    kind: Literal["queue", "agent", "external"] = Field(
        description="queue: another platform's queue (or a platform code); agent: a colleague's username; "
        "external: a code of the configured directory (110, 119, 120, retained hotlines)"
    )
    target: str = Field(min_length=1, max_length=64)
    mode: Literal["blind", "attended"] = "blind"
    note: str = Field(default="", max_length=500, description="shown on the receiving agent's screen-pop")


def _refused(e: service.TransferRefused) -> HTTPException:
    return HTTPException(e.status, str(e))


@router.get("/api/agents/me/transfer-targets")
async def targets(request: Request, user: Agent, session: SessionDep) -> dict[str, Any]:
    """Where this agent can transfer a call now: every platform's queues with their staffed agents,
    colleagues with their state, and the outside directory."""
    rt = request.app.state.runtime
    tel = rt.get(TELEPHONY)
    staffed = (tel.state.agents_by_queue() if tel else None) or {}
    queues = [
        {"queue": q, "platform": p.code, "name": p.short_name, "staffed": staffed.get(q, 0)}
        for p in rt.config.platforms
        for q in p.queues
    ]
    rows = await session.scalars(
        select(User).where(User.role == Role.agent, User.active.is_(True), User.id != user.id).order_by(User.username)
    )
    colleagues = []
    for u in rows:
        view = agents.agent_view(tel.state, u) if tel else {"state": "logged_out", "label": "未签入"}
        colleagues.append({"username": u.username, "name": u.display_name or u.username, "platform": u.platform,
                           "state": view["state"], "label": view["label"]})  # fmt: skip
    directory = [{"code": e.code, "name": e.name, "number": e.number} for e in rt.config.transfer.directory]
    return {"queues": queues, "colleagues": colleagues, "directory": directory, "ring_s": rt.config.transfer.ring_s}


@router.post("/api/agents/me/transfer", status_code=201)
async def transfer(data: TransferIn, request: Request, user: Agent, session: SessionDep) -> dict[str, Any]:
    """Transfer the agent's current call. Refused (409, the caller stays with the agent) when the
    target cannot take it now; a target that does not answer sends the caller back (dialplan)."""
    rt = request.app.state.runtime
    try:
        t, plan, call, colleague = await service.request(
            rt, session, user, kind=data.kind, target=data.target, mode=data.mode, note=data.note.strip()
        )
    except service.TransferRefused as e:
        raise _refused(e) from e
    await commit_and_publish(session, rt.hub, [te.updated(t)])  # the dialplan's events look it up
    comp = rt.get(TRANSFERS)
    if colleague is not None and comp is not None:  # (loaded before the commit: no second transaction)
        await comp.pop_colleague(t, colleague)
    try:
        await service.send(rt, t, plan, call)
    except service.TransferRefused as e:
        t.status, t.detail, t.ended_at = tm.RETURNED, str(e)[:255], utcnow()  # the caller never left
        await commit_and_publish(session, rt.hub, [te.updated(t)])
        raise _refused(e) from e
    return {**te.out(t), "message": te.message(t)}


async def _mine(session: SessionDep, user: User, xfer_id: str) -> tm.CallTransfer:
    t = await service.by_id(session, xfer_id)
    if t is None or t.from_user != user.username:
        raise HTTPException(404, "没有这个转接")
    if t.mode != "attended" or t.status not in (tm.CONSULTING, tm.ANSWERED):
        raise HTTPException(409, f"此转接当前状态为“{tm.LABELS.get(t.status, t.status)}”，不能完成或取消")
    return t


@router.post("/api/agents/me/transfer/{xfer_id}/complete")
async def complete(xfer_id: str, request: Request, user: Agent, session: SessionDep) -> dict[str, Any]:
    """Attended: the agent leaves; Asterisk joins the caller and the target (transferer hang-up)."""
    rt = request.app.state.runtime
    t = await _mine(session, user, xfer_id)
    if t.status != tm.ANSWERED:
        raise HTTPException(409, "对方尚未接听，不能完成转接；可取消转接")
    call = await session.scalar(select(Call).where(Call.uniqueid == t.call_uniqueid))
    tel = rt.require(TELEPHONY)
    own = await service._agent_channel(tel.connection_for(call.platform if call else None), call, t.from_interface) if call else None
    if own is None:
        raise HTTPException(409, "找不到您的通话信道")
    try:
        await service.hang_up(rt, call.platform if call else None, own)
    except service.TransferRefused as e:
        raise _refused(e) from e
    service.set_status(t, tm.COMPLETED)
    await commit_and_publish(session, rt.hub, [te.updated(t)])
    return {**te.out(t), "message": te.message(t)}


@router.post("/api/agents/me/transfer/{xfer_id}/cancel")
async def cancel(xfer_id: str, request: Request, user: Agent, session: SessionDep) -> dict[str, Any]:
    """Attended: end the consultation; the agent is back with the caller."""
    rt = request.app.state.runtime
    t = await _mine(session, user, xfer_id)
    if not t.consult_channel:
        raise HTTPException(409, "咨询通话尚未建立")
    try:
        await service.hang_up(rt, None, t.consult_channel)
    except service.TransferRefused as e:
        raise _refused(e) from e
    service.set_status(t, tm.CANCELLED)
    await commit_and_publish(session, rt.hub, [te.updated(t)])
    return {**te.out(t), "message": te.message(t)}


@router.get("/api/calls/{uniqueid}/legs")
async def call_legs(uniqueid: str, user: Staff, session: SessionDep) -> dict[str, Any]:
    """The call record with every leg: who answered first, each transfer and where it ended."""
    call = await session.scalar(select(Call).where(Call.uniqueid == uniqueid))
    rows = await service.legs(session, uniqueid)
    platforms = {call.platform if call else None} | {t.to_platform for t in rows}
    if call is None or not any(sees_platform(user, p) for p in platforms if p):
        raise HTTPException(404, "没有这通电话")
    first = rows[0].from_user if rows else call.agent
    legs: list[dict[str, Any]] = [{"leg": 1, "kind": "queue", "queue": rows[0].from_queue if rows else call.queue,
                                   "agent": first, "status": "answered" if first else call.outcome}]  # fmt: skip
    for i, t in enumerate(rows, start=2):
        legs.append({"leg": i, **te.out(t)})
    # 排队回拨: the call-back the caller asked for in the queue (app.callbacks.queued) is a later leg
    backs = await session.scalars(select(Call).where(Call.callback_of == uniqueid).order_by(Call.id))
    for cb in backs:
        legs.append({"leg": len(legs) + 1, "kind": "callback", "uniqueid": cb.uniqueid, "queue": cb.queue,
                     "agent": cb.agent, "status": cb.outcome, "answered_at": cb.answered_at})  # fmt: skip
    return {"uniqueid": uniqueid, "caller": call.caller, "platform": call.platform, "outcome": call.outcome,
            "agent": call.agent, "callback_of": call.callback_of, "legs": legs}  # fmt: skip
