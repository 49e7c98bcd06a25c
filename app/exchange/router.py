"""POST /exchange/v1/messages (peers; checks and storage in ``inbound``), and for administrators: the peers and their health, undelivered and rejected messages (retry or cancel
one), parked and rejected inbound messages, refused requests. Page /ui/exchange (Chinese)."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.auth.deps import require_roles
from app.auth.models import Role, User
from app.bounds import Offset
from app.db import utcnow
from app.deps import HubDep, SessionDep
from app.events import Event, commit_and_publish
from app.exchange import protocol as p
from app.exchange.inbound import Refused, parse, receive, refuse, signed_request, store_nonce
from app.exchange.models import (
    CANCELLED,
    DUPLICATE,
    PARKED,
    PENDING,
    REJECTED,
    SENT,
    ExchangeInbox,
    ExchangeOutbox,
    ExchangeRefusal,
)
from app.runtime import Runtime, get_runtime
from app.settings import Settings
from app.web.router import page

router = APIRouter(tags=["exchange"])
audit = logging.getLogger("app.exchange.audit")
Admin = Annotated[User, Depends(require_roles(Role.admin))]
TEMPLATES = Path(__file__).resolve().parent / "templates"


class PeerOut(BaseModel):
    name: str
    url: str
    platforms: list[str]
    units: list[str]  # unit codes whose own system the peer is
    key_ids: list[str]  # never the secrets
    pending: int
    rejected: int
    sent: int
    last_sent_at: datetime | None
    last_error: str | None
    oldest_pending_at: datetime | None
    health: str  # ok | degraded | down | idle


class MessageOut(BaseModel):
    id: int
    message_id: str
    peer: str
    case_number: str
    seq: int
    status: str
    attempts: int
    last_error: str | None
    result: str | None
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None

    model_config = {"from_attributes": True}


class InboxOut(BaseModel):
    id: int
    message_id: str
    peer: str
    case_number: str
    seq: int
    state: str
    error: str | None
    received_at: datetime

    model_config = {"from_attributes": True}


class RefusalOut(BaseModel):
    at: datetime
    peer: str | None
    key_id: str | None
    address: str | None
    code: str
    detail: str

    model_config = {"from_attributes": True}


class Overview(BaseModel):
    node: str
    peers: list[PeerOut]


@router.get("/api/exchange/peers", response_model=Overview)
async def peers(session: SessionDep, user: Admin, rt: Annotated[Runtime, Depends(get_runtime)]) -> Overview:
    out = []
    for peer in rt.settings.exchange_peers:
        counts = dict(
            (await session.execute(
                select(ExchangeOutbox.status, func.count()).where(ExchangeOutbox.peer == peer.name)
                .group_by(ExchangeOutbox.status)
            )).tuples().all()
        )  # fmt: skip
        last_sent = await session.scalar(
            select(func.max(ExchangeOutbox.sent_at)).where(ExchangeOutbox.peer == peer.name)
        )
        oldest = await session.scalar(
            select(func.min(ExchangeOutbox.created_at)).where(
                ExchangeOutbox.peer == peer.name, ExchangeOutbox.status == PENDING
            )
        )
        err = await session.scalar(
            select(ExchangeOutbox.last_error)
            .where(ExchangeOutbox.peer == peer.name, ExchangeOutbox.status == PENDING, ExchangeOutbox.last_error.is_not(None))
            .order_by(ExchangeOutbox.id.desc()).limit(1)
        )  # fmt: skip
        pending = counts.get(PENDING, 0)
        health = (
            "down"
            if err
            else ("degraded" if counts.get(REJECTED) else ("ok" if counts.get(SENT) else "idle"))
        )
        out.append(
            PeerOut(
                name=peer.name, url=peer.url, platforms=peer.platforms, units=peer.units, key_ids=[k.id for k in peer.keys],
                pending=pending, rejected=counts.get(REJECTED, 0), sent=counts.get(SENT, 0), last_sent_at=last_sent,
                last_error=err, oldest_pending_at=oldest, health=health,
            )
        )  # fmt: skip
    return Overview(node=rt.settings.exchange_node, peers=out)


@router.get("/api/exchange/messages", response_model=list[MessageOut])
async def messages(
    session: SessionDep,
    user: Admin,
    status: Literal["pending", "sent", "rejected", "cancelled"] | None = None,
    peer: str | None = None,
    limit: int = 100,
    offset: Offset = 0,
) -> list[ExchangeOutbox]:
    q = select(ExchangeOutbox)
    if status:
        q = q.where(ExchangeOutbox.status == status)
    if peer:
        q = q.where(ExchangeOutbox.peer == peer)
    return list(
        await session.scalars(
            q.order_by(ExchangeOutbox.id.desc()).limit(min(max(limit, 1), 500)).offset(offset)
        )
    )


async def _message(session: SessionDep, message_id: int) -> ExchangeOutbox:
    row = await session.get(ExchangeOutbox, message_id)
    if row is None:
        raise HTTPException(404, f"没有对接消息 {message_id}")
    return row


@router.post("/api/exchange/messages/{message_id}/retry", response_model=MessageOut)
async def retry(message_id: int, session: SessionDep, hub: HubDep, user: Admin) -> ExchangeOutbox:
    """A rejected, cancelled or waiting message is sent again now (same message id: applied once)."""
    row = await _message(session, message_id)
    if row.status == SENT:
        raise HTTPException(409, f"消息 {message_id} 已送达")
    row.status, row.next_attempt_at, row.claimed_until = PENDING, utcnow(), None
    await commit_and_publish(session, hub, [Event("case.exchange.retry", {"id": message_id})])
    return row


@router.post("/api/exchange/messages/{message_id}/cancel", response_model=MessageOut)
async def cancel(message_id: int, session: SessionDep, user: Admin) -> ExchangeOutbox:
    """An undelivered message is given up (kept, marked cancelled; retry brings it back)."""
    row = await _message(session, message_id)
    if row.status == SENT:
        raise HTTPException(409, f"消息 {message_id} 已送达")
    row.status = CANCELLED
    await session.commit()
    return row


@router.get("/api/exchange/inbox", response_model=list[InboxOut])
async def inbox(
    session: SessionDep, user: Admin, state: Literal["parked", "rejected", "applied", "duplicate"] = "parked"
) -> list[ExchangeInbox]:
    return list(
        await session.scalars(
            select(ExchangeInbox)
            .where(ExchangeInbox.state == state)
            .order_by(ExchangeInbox.id.desc())
            .limit(200)
        )
    )


@router.get("/api/exchange/refusals", response_model=list[RefusalOut])
async def refusals(session: SessionDep, user: Admin, limit: int = 100) -> list[ExchangeRefusal]:
    return list(
        await session.scalars(
            select(ExchangeRefusal).order_by(ExchangeRefusal.id.desc()).limit(min(max(limit, 1), 500))
        )
    )


@router.get("/ui/exchange", include_in_schema=False)
async def exchange_page() -> FileResponse:
    return page(TEMPLATES / "exchange.html")


@router.post(
    p.PATH,
    responses={
        202: {"description": "parked: applied once the messages before it arrive"},
        401: {"description": "unsigned, unknown key, expired timestamp or bad signature"},
        409: {"description": "replayed nonce, or the message does not fit the case (rejected)"},
        413: {"description": "body too large"},
        422: {"description": "malformed body"},
    },
)
async def post_message(request: Request) -> JSONResponse:
    """Receive one signed message (docs/exchange/openapi.yaml)."""
    rt = request.app.state.runtime
    settings: Settings = rt.settings
    try:
        ex, peer, nonce, body = await signed_request(request, settings.exchange_max_body_bytes)
        msg = parse(peer, ex.node, request, body)
        async with rt.db.sessionmaker() as s:
            await store_nonce(s, ex, settings, peer.name, nonce)
            queued, events = ex.queued, list[Event]()
            token = ex.events.set(events)  # what a unit's system did: published after the commit
            try:
                out = await receive(s, ex, peer.name, msg, body.decode())
                await commit_and_publish(s, rt.hub, events)
            except IntegrityError:  # the same message delivered twice at once: the other one stored it
                await s.rollback()
                out = {"status": DUPLICATE, "message_id": msg.message_id}
            finally:
                ex.events.reset(token)
    except Refused as e:
        return await refuse(request, e)
    if out["status"] == REJECTED:
        await refuse(request, Refused(409, "conflict", out.get("error") or "", peer.name))
        return JSONResponse({**out, "error": "conflict", "detail": out.get("error")}, status_code=409)
    if ex.wake is not None and ex.queued != queued:  # it queued forwards: send them now
        ex.wake.set()
    return JSONResponse(out, status_code=202 if out["status"] == PARKED else 200)
