"""Checks and storage behind POST /exchange/v1/messages (the route is in ``router``): a peer's signed message. Every check before anything changes; every
refusal answers a clear error ({"error": code, "detail": …}) and leaves an audit line (a log line and an
``exchange_refusals`` row written in its own transaction). A message is stored before it is applied:
applied now (with the parked messages it unblocks), parked until its turn, or acknowledged as a
duplicate — so a retried or reordered delivery is applied exactly once."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.exchange import protocol as p
from app.exchange import sequencing
from app.exchange.models import (
    APPLIED,
    DUPLICATE,
    PARKED,
    REJECTED,
    ExchangeInbox,
    ExchangeNonce,
    ExchangeRefusal,
)
from app.exchange.service import EXCHANGE, Conflict, Exchange, _link
from app.settings import ExchangePeer, Settings

log = logging.getLogger("app.exchange.audit")


class Refused(Exception):
    def __init__(self, status: int, code: str, detail: str, peer: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.peer = status, code, detail, peer


def _peer_of(settings: Settings, key_id: str) -> tuple[ExchangePeer, str] | None:
    for peer in settings.exchange_peers:
        for key in peer.keys:
            if key.id == key_id:
                return peer, key.secret
    return None


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise Refused(413, "too_large", f"body over {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused(413, "too_large", f"body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def signed_request(request: Request, limit: int) -> tuple[Exchange, ExchangePeer, str, bytes]:
    """What every signed POST starts with: the exchange is on, the body within ``limit`` bytes, the
    signature, key and timestamp good. Returns the exchange, the peer, its nonce and the body; raises
    Refused otherwise (the route answers with ``refuse``)."""
    ex = request.app.state.runtime.get(EXCHANGE)
    if ex is None:
        raise Refused(404, "exchange_off", "this deployment exchanges with no peer")
    body = await read_body(request, limit)
    peer, nonce = authenticate(request.app.state.runtime.settings, request, body)
    return ex, peer, nonce, body


def authenticate(settings: Settings, request: Request, body: bytes) -> tuple[ExchangePeer, str]:
    h = request.headers
    missing = [n for n in (p.H_KEY, p.H_TS, p.H_NONCE, p.H_SIG) if not h.get(n)]
    if missing:
        raise Refused(401, "unsigned", f"missing headers: {', '.join(missing)}")
    found = _peer_of(settings, h[p.H_KEY])
    if found is None:
        raise Refused(401, "unknown_key", f"unknown key id {h[p.H_KEY][:64]!r}")
    peer, secret = found
    if not p.fresh(h[p.H_TS], time.time(), settings.exchange_max_skew_s):
        raise Refused(401, "expired_timestamp", f"timestamp {h[p.H_TS][:20]!r} is not within "
                      f"{settings.exchange_max_skew_s} s of our clock", peer.name)  # fmt: skip
    nonce = h[p.H_NONCE]
    if not (8 <= len(nonce) <= 64):
        raise Refused(401, "bad_nonce", "nonce must be 8 to 64 characters", peer.name)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if not p.verify(secret, h[p.H_SIG], h[p.H_TS], nonce, request.method, target, body):
        raise Refused(401, "bad_signature", "signature does not match the body and headers", peer.name)
    return peer, nonce


def parse(peer: ExchangePeer, node: str, request: Request, body: bytes) -> p.Message:
    try:
        msg = p.Message.model_validate_json(body)
    except ValidationError as e:
        errs = "; ".join(f"{'.'.join(str(x) for x in er['loc'])}: {er['msg']}" for er in e.errors()[:5])
        raise Refused(422, "malformed_body", errs[:1000], peer.name) from None
    check(peer, node, msg)
    idem = request.headers.get(p.H_IDEM)
    if idem is not None and idem != msg.message_id:
        raise Refused(422, "idempotency_mismatch", "Idempotency-Key differs from message_id", peer.name)
    return msg


def check(peer: ExchangePeer, node: str, msg: p.Message) -> None:
    """The message comes from the key's peer and is meant for this node."""
    if msg.sender != peer.name:
        raise Refused(
            403, "wrong_sender", f"key belongs to {peer.name}, message says {msg.sender}", peer.name
        )
    if msg.recipient != node:
        raise Refused(422, "wrong_recipient", f"this is {node}, not {msg.recipient}", peer.name)


async def receive(
    session: AsyncSession, ex: Exchange, peer: str, msg: p.Message, body: str
) -> dict[str, Any]:
    """Store the message and apply whatever is now in order. The caller commits."""
    now = utcnow()
    seen = await session.scalar(select(ExchangeInbox).where(ExchangeInbox.message_id == msg.message_id))
    if seen is not None:
        return {"status": DUPLICATE, "message_id": msg.message_id, "state": seen.state}
    link = await _link(session, peer, msg.case_number, lock=True)
    parked = {
        r.seq: r
        for r in await session.scalars(
            select(ExchangeInbox).where(
                ExchangeInbox.peer == peer,
                ExchangeInbox.case_number == msg.case_number,
                ExchangeInbox.state == PARKED,
            )
        )
    }
    d = sequencing.decide(link.in_seq, parked.keys(), msg.seq)
    row = ExchangeInbox(
        message_id=msg.message_id, peer=peer, case_number=msg.case_number, seq=msg.seq, body=body,
        state=DUPLICATE if d.kind == sequencing.DUPLICATE else PARKED, received_at=now,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    if d.kind != sequencing.APPLY:
        return {"status": row.state, "message_id": msg.message_id, "applied_seq": link.in_seq}
    parked[msg.seq] = row
    for seq in d.apply:
        r = parked[seq]
        m = msg if r is row else p.Message.model_validate_json(r.body)
        try:
            async with session.begin_nested():
                await ex.apply(session, peer, m, now)
            r.state, r.applied_at = APPLIED, now
        except Conflict as e:  # its turn came and it does not fit: recorded, the stream goes on
            r.state, r.error = REJECTED, str(e)[:2000]
            log.warning("exchange message %s from %s rejected: %s", r.message_id, peer, e)
        link.in_seq = seq
    await session.flush()
    return {"status": row.state, "message_id": msg.message_id, "applied_seq": link.in_seq, "error": row.error}


async def refuse(request: Request, e: Refused) -> JSONResponse:
    """The audit line (log and ``exchange_refusals`` row, its own transaction) and the error answer."""
    rt = request.app.state.runtime
    address = request.client.host if request.client else None
    key_id = (request.headers.get(p.H_KEY) or "")[:64] or None
    log.warning(
        "exchange refused: %s from peer=%s key=%s address=%s: %s", e.code, e.peer, key_id, address, e.detail
    )
    async with rt.db.sessionmaker() as s:
        s.add(
            ExchangeRefusal(
                at=utcnow(), peer=e.peer, key_id=key_id, address=address, code=e.code, detail=e.detail
            )
        )
        await s.commit()
    return JSONResponse({"error": e.code, "detail": e.detail}, status_code=e.status)


NONCE_SWEEP_S = 60.0  # nonces older than 3 × the allowed clock skew are deleted at most this often


async def store_nonce(session: AsyncSession, ex: Exchange, settings: Settings, peer: str, nonce: str) -> None:
    """Remember the request's nonce (a replay is refused) and now and then forget the expired ones."""
    try:
        session.add(ExchangeNonce(peer=peer, nonce=nonce, seen_at=utcnow()))
        await session.flush()
    except IntegrityError:
        raise Refused(409, "replayed_nonce", f"nonce {nonce[:64]!r} was used already", peer) from None
    if time.monotonic() - ex.nonces_swept > NONCE_SWEEP_S:  # not on every request: a write each
        ex.nonces_swept = time.monotonic()
        cutoff = utcnow() - timedelta(seconds=3 * settings.exchange_max_skew_s)
        await session.execute(delete(ExchangeNonce).where(ExchangeNonce.seen_at < cutoff))
