"""Shared data peers pull with a signed GET (docs/exchange/README.md §5): one day's call and case
figures (``/exchange/v1/stats``) and published knowledge (``/exchange/v1/knowledge``); and for
administrators, a look at a peer's (``/api/exchange/peers/{name}/knowledge``), a pull into this knowledge
base (``…/knowledge/sync``) and where the pulls stand. Commits: the nonce."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date as date_
from datetime import datetime
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import apart_with_roles, require_roles
from app.auth.models import Role, User
from app.cases.context import of_runtime
from app.db import utcnow
from app.exchange import knowledge, knowledge_copies
from app.exchange import protocol as p
from app.exchange.inbound import Refused, authenticate, refuse
from app.exchange.models import ExchangeNonce, KnowledgePull
from app.exchange.service import EXCHANGE
from app.exchange.shared import daily_stats
from app.runtime import Runtime, get_runtime
from app.settings import ExchangePeer

router = APIRouter(tags=["exchange"])
Admin = Annotated[User, Depends(require_roles(Role.admin))]
SIGNED: dict[int | str, dict[str, Any]] = {
    401: {"description": "unsigned, unknown key, expired timestamp or bad signature"},
    409: {"description": "replayed nonce"},
    422: {"description": "malformed query"},
}


async def _signed(request: Request, rt: Runtime, s: AsyncSession) -> ExchangePeer:
    """The peer behind a signed GET (empty body); its nonce is stored, so a replay is refused."""
    if rt.get(EXCHANGE) is None:
        raise Refused(404, "exchange_off", "this deployment exchanges with no peer")
    peer, nonce = authenticate(rt.settings, request, b"")
    try:
        s.add(ExchangeNonce(peer=peer.name, nonce=nonce, seen_at=utcnow()))
        await s.flush()
    except IntegrityError:
        raise Refused(409, "replayed_nonce", f"nonce {nonce[:64]!r} was used already", peer.name) from None
    return peer


@router.get(p.STATS_PATH, responses=SIGNED)
async def get_stats(request: Request, date: str) -> JSONResponse:
    """A peer pulls one day's call and case figures per platform served here (signed GET, empty body)."""
    rt = request.app.state.runtime
    try:
        async with rt.db.sessionmaker() as s:
            peer = await _signed(request, rt, s)
            try:
                day = date_.fromisoformat(date)
            except ValueError:
                raise Refused(
                    422, "malformed_body", f"date must be YYYY-MM-DD, got {date[:20]!r}", peer.name
                ) from None
            out = await daily_stats(s, of_runtime(rt), day)
            await s.commit()
    except Refused as e:
        return await refuse(request, e)
    return JSONResponse({"node": rt.settings.exchange_node, **out})


def _since(value: str | None, peer: str) -> datetime | None:
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise Refused(
            422, "malformed_body", f"updated_since must be ISO 8601, got {value[:40]!r}", peer
        ) from None
    if at.tzinfo is None:
        raise Refused(422, "malformed_body", "updated_since needs its time zone (e.g. +08:00 or Z)", peer)
    return at


@router.get(p.KNOWLEDGE_PATH, responses=SIGNED)
async def get_knowledge(
    request: Request,
    updated_since: Annotated[str | None, Query(max_length=64)] = None,
    after_id: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=knowledge.MAX_LIMIT)] = 100,
) -> JSONResponse:
    """A peer pulls the published articles of the whole province and of the platforms it serves,
    changed after ``updated_since`` (and ``after_id`` at that same instant); ``next`` continues."""
    rt = request.app.state.runtime
    try:
        async with rt.db.sessionmaker() as s:
            peer = await _signed(request, rt, s)
            since = _since(updated_since, peer.name)
            names = of_runtime(rt).rules.category_names()
            out = await knowledge.articles_for(s, peer.platforms, names, since, after_id, limit)
            await s.commit()
    except Refused as e:
        return await refuse(request, e)
    return JSONResponse({"node": rt.settings.exchange_node, **out})


@router.get("/api/exchange/peers/{name}/knowledge")
async def pull_knowledge(
    name: str,
    user: Admin,
    rt: Annotated[Runtime, Depends(get_runtime)],
    updated_since: Annotated[str | None, Query(max_length=64)] = None,
    after_id: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=knowledge.MAX_LIMIT)] = 100,
) -> Any:
    """An administrator pulls one page of a peer's published knowledge (signed with our key): a look,
    nothing is kept (POST …/knowledge/sync keeps copies)."""
    peer = _peer(rt, name)
    async with httpx.AsyncClient(timeout=rt.settings.exchange_timeout_s, trust_env=False) as client:
        try:
            r = await knowledge.pull(peer, client, updated_since, after_id, limit)
        except httpx.HTTPError as e:
            raise HTTPException(502, f"{name} 不可达：{type(e).__name__}") from None
    if r.status_code != 200:
        raise HTTPException(502, f"{name} 拒绝：HTTP {r.status_code} {r.text[:300]}")
    return r.json()


def _peer(rt: Runtime, name: str) -> ExchangePeer:
    peer = next((x for x in rt.settings.exchange_peers if x.name == name), None)
    if peer is None:
        raise HTTPException(404, f"没有对接平台 {name}")
    return peer


@router.post("/api/exchange/peers/{name}/knowledge/sync")
async def sync_knowledge(
    name: str, user: Annotated[User, Depends(apart_with_roles(Role.admin))], rt: Annotated[Runtime, Depends(get_runtime)]
) -> dict[str, Any]:
    """Pulls what changed in a peer's published knowledge since the last pull into this knowledge base
    (read-only copies, app.exchange.knowledge_copies); 502 when nothing could be pulled."""
    res = await knowledge_copies.sync(rt, _peer(rt, name))
    if res.error and not res.pages:
        raise HTTPException(502, res.error)
    return asdict(res)


@router.get("/api/exchange/knowledge")
async def knowledge_status(user: Admin, rt: Annotated[Runtime, Depends(get_runtime)]) -> list[dict[str, Any]]:
    """Per peer: whether its knowledge is pulled by itself, the copies held here, the last pull and error."""
    async with rt.db.read_sessionmaker() as s:
        rows = {r.peer: r for r in await s.scalars(select(KnowledgePull))}
    every = rt.settings.exchange_knowledge_pull_s
    out = []
    for peer in rt.settings.exchange_peers:
        r = rows.get(peer.name)
        out.append({
            "peer": peer.name, "every_s": every if peer.knowledge and every > 0 else None,
            "copies": r.copies if r else 0, "pulled_at": r.pulled_at if r else None,
            "tried_at": r.tried_at if r else None, "last_error": r.last_error if r else None,
        })  # fmt: skip
    return out
