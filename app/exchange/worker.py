"""The delivery worker: sends due outbox messages to their peers, signed, in order per peer.

Claiming: a batch of due rows gets a lease (``claimed_until``) in a short transaction — on PostgreSQL
``SELECT … FOR UPDATE SKIP LOCKED``, so several workers (processes) never send the same row at once;
then each is sent and its outcome written. A peer that is down (connection refused, timeout, 5xx)
keeps its rows pending with ``attempts`` and ``last_error`` and is retried after an exponentially
growing delay (``exchange_retry_base_s`` doubling up to ``exchange_retry_max_s``); a 4xx answer other
than 408/429 marks the row ``rejected`` (the administrator sees it and may retry or cancel it)."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases.context import of_runtime
from app.db import utcnow
from app.exchange import protocol as p
from app.exchange.models import PENDING, REJECTED, SENT, ExchangeOutbox
from app.exchange.service import EXCHANGE, Exchange
from app.runtime import Runtime
from app.settings import ExchangePeer, Settings

log = logging.getLogger(__name__)
LEASE_S = 60.0


def headers_for(
    peer: ExchangePeer, body: bytes, message_id: str, now: float | None = None, path: str = p.PATH
) -> dict[str, str]:
    key = peer.keys[0]
    ts, nonce = str(int(now if now is not None else time.time())), secrets.token_hex(16)
    headers = {
        "Content-Type": "application/json",
        p.H_KEY: key.id,
        p.H_TS: ts,
        p.H_NONCE: nonce,
        p.H_SIG: p.sign(key.secret, ts, nonce, "POST", path, body),
    }
    if message_id:
        headers[p.H_IDEM] = message_id
    return headers


def backoff(settings: Settings, attempts: int) -> float:
    return float(
        min(settings.exchange_retry_base_s * 2 ** max(attempts - 1, 0), settings.exchange_retry_max_s)
    )


async def claim(session: AsyncSession, now: datetime, limit: int = 100) -> list[ExchangeOutbox]:
    q = (
        select(ExchangeOutbox)
        .where(
            ExchangeOutbox.status == PENDING,
            ExchangeOutbox.next_attempt_at <= now,
            or_(ExchangeOutbox.claimed_until.is_(None), ExchangeOutbox.claimed_until < now),
        )
        .order_by(ExchangeOutbox.id)
        .limit(limit)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    rows = list(await session.scalars(q))
    for r in rows:
        r.claimed_until = now + timedelta(seconds=LEASE_S)
    await session.flush()
    return rows


async def _send(r: ExchangeOutbox, peer: ExchangePeer, client: httpx.AsyncClient) -> tuple[str, str | None]:
    body = r.body.encode()
    try:
        resp = await client.post(
            peer.url + p.PATH, content=body, headers=headers_for(peer, body, r.message_id)
        )
    except httpx.HTTPError as e:
        return "retry", f"{type(e).__name__}: {e}"
    if resp.status_code in (200, 202):
        with suppress(ValueError):
            r.result = str(resp.json().get("status", ""))[:16]
        return "sent", None
    if resp.status_code in (408, 429) or resp.status_code >= 500:
        return "retry", f"HTTP {resp.status_code}: {resp.text[:500]}"
    return "rejected", f"HTTP {resp.status_code}: {resp.text[:1000]}"


async def _send_batch(
    rows: list[ExchangeOutbox], peer: ExchangePeer, client: httpx.AsyncClient
) -> list[tuple[str, str | None, str | None]]:
    """``rows`` in one signed POST /exchange/v1/batch (each message's exact stored bytes): an
    (outcome, detail, the peer's status) per row, in order."""
    messages = ",".join(r.body for r in rows)
    body = ('{"protocol":"' + p.VERSION + '","messages":[' + messages + "]}").encode()
    headers = headers_for(peer, body, "", path=p.BATCH_PATH)
    try:
        resp = await client.post(peer.url + p.BATCH_PATH, content=body, headers=headers)
    except httpx.HTTPError as e:
        return [("retry", f"{type(e).__name__}: {e}", None)] * len(rows)
    if resp.status_code in (408, 429) or resp.status_code >= 500:
        return [("retry", f"HTTP {resp.status_code}: {resp.text[:500]}", None)] * len(rows)
    if resp.status_code != 200:
        return [("rejected", f"HTTP {resp.status_code}: {resp.text[:1000]}", None)] * len(rows)
    try:
        answers = {str(a.get("message_id")): a for a in resp.json()["results"]}
    except (ValueError, KeyError, TypeError, AttributeError):
        return [("retry", f"unreadable batch answer: {resp.text[:300]}", None)] * len(rows)
    out: list[tuple[str, str | None, str | None]] = []
    for r in rows:
        a = answers.get(r.message_id)
        if a is None:
            out.append(("retry", "not in the batch answer", None))
        elif a.get("status") == REJECTED:
            out.append(("rejected", f"conflict: {str(a.get('error'))[:1000]}", None))
        else:
            out.append(("sent", None, str(a.get("status", ""))[:16]))
    return out


async def deliver_once(rt: Runtime, client: httpx.AsyncClient) -> dict[str, int]:
    """One pass: claim due rows and send them — the streams of different cases side by side (up to
    ``exchange_concurrency`` requests at once), each case's messages in order; a peer that fails is
    skipped for the rest of the pass. To a peer configured with ``batch``, a lane of cases' messages
    goes in batches of that many per request (a case's messages all in one lane, in order). Records
    the outcomes; returns counts {sent, retry, rejected}."""
    settings = rt.settings
    peers = {x.name: x for x in settings.exchange_peers}
    async with rt.db.sessionmaker() as s:
        rows = await claim(s, utcnow(), limit=settings.exchange_batch)
        await s.commit()
        counts = {"sent": 0, "retry": 0, "rejected": 0}
        down: dict[str, str] = {}  # peers that failed in this pass, and why
        lanes_n = max(settings.exchange_concurrency, 1)
        streams: dict[tuple[str, str], list[ExchangeOutbox]] = {}
        for r in rows:
            peer = peers.get(r.peer)
            lane = (
                r.case_number
                if peer is None or not peer.batch
                else str(zlib.crc32(r.case_number.encode()) % lanes_n)
            )
            streams.setdefault((r.peer, lane), []).append(r)
        gate = asyncio.Semaphore(lanes_n)

        def record(r: ExchangeOutbox, outcome: str, detail: str | None, result: str | None) -> None:
            now = utcnow()
            if outcome == "sent":
                r.status, r.sent_at, r.last_error = SENT, now, None
                r.result = result if result is not None else r.result
            elif outcome == "rejected":
                r.status, r.last_error = REJECTED, detail
                log.warning("exchange message %s rejected by %s: %s", r.message_id, r.peer, detail)
            else:
                r.last_error = detail
                r.next_attempt_at = now + timedelta(seconds=backoff(settings, r.attempts))
                down[r.peer] = detail or ""
            counts[outcome] += 1

        def skip(r: ExchangeOutbox, peer: ExchangePeer | None) -> bool:
            r.claimed_until = None
            if peer is not None and r.peer not in down:
                return False
            r.last_error = (
                f"未发送：{r.peer} 不可达（{down[r.peer]}）"
                if peer is not None
                else f"no peer {r.peer!r} configured"
            )
            r.next_attempt_at = utcnow() + timedelta(seconds=backoff(settings, max(r.attempts, 1)))
            counts["retry"] += 1
            return True

        async def stream(msgs: list[ExchangeOutbox]) -> None:
            peer = peers.get(msgs[0].peer)
            size = peer.batch if peer is not None and peer.batch else 0
            if not size:
                for r in msgs:
                    if skip(r, peer):
                        continue
                    assert peer is not None
                    r.attempts += 1
                    async with gate:
                        outcome, detail = await _send(r, peer, client)
                    record(r, outcome, detail, None)
                return
            assert peer is not None
            for i in range(0, len(msgs), size):
                chunk = [r for r in msgs[i : i + size] if not skip(r, peer)]
                if not chunk:
                    continue
                for r in chunk:
                    r.attempts += 1
                async with gate:
                    outcomes = await _send_batch(chunk, peer, client)
                for r, (outcome, detail, result) in zip(chunk, outcomes, strict=True):
                    record(r, outcome, detail, result)

        await asyncio.gather(*(stream(m) for m in streams.values()))
        await _peers_back(s, {r.peer for r in rows if r.status == SENT} - set(down))
        await s.commit()
    return counts


async def _peers_back(session: AsyncSession, peers: set[str]) -> None:
    """A peer that answered again: its messages still waiting on a backed-off retry timer (up to
    ``exchange_retry_max_s`` after it went down) are due now, so a backlog drains as soon as it is back."""
    if peers:
        now = utcnow()
        await session.execute(
            update(ExchangeOutbox)
            .where(
                ExchangeOutbox.peer.in_(peers),
                ExchangeOutbox.status == PENDING,
                ExchangeOutbox.next_attempt_at > now,
                ExchangeOutbox.claimed_until.is_(None),
            )
            .values(next_attempt_at=now)
        )


async def run(rt: Runtime, ex: Exchange, stop: asyncio.Event) -> None:
    wake = ex.wake
    assert wake is not None
    async with httpx.AsyncClient(timeout=rt.settings.exchange_timeout_s, trust_env=False) as client:
        while not stop.is_set():
            wake.clear()
            try:
                counts: dict[str, Any] = await deliver_once(rt, client)
            except Exception:  # a database hiccup must not end the worker
                log.exception("exchange delivery pass failed")
                counts = {}
            if counts.get("sent") and not counts.get("retry"):
                continue  # there may be more right behind
            with suppress(TimeoutError):
                async with asyncio.timeout(rt.settings.exchange_poll_s):
                    await wake.wait()


@asynccontextmanager
async def exchange(rt: Runtime) -> AsyncIterator[None]:
    """STARTERS entry: when exchange_node is set, the transition listener and the delivery worker."""
    if not rt.settings.exchange_node:
        yield
        return
    ctx = of_runtime(rt)
    ex = Exchange(rt.settings, ctx)
    ex.wake = asyncio.Event()
    ctx.listeners.append(ex.on_transition)
    rt.put(EXCHANGE, ex)

    async def woken(_event: Any) -> None:
        wake = ex.wake
        if wake is not None:
            wake.set()

    rt.hub.subscribe("case.", woken)
    stop = asyncio.Event()
    task = asyncio.create_task(run(rt, ex, stop), name="exchange-delivery")
    try:
        yield
    finally:
        stop.set()
        ex.wake.set()
        with suppress(asyncio.CancelledError, TimeoutError):
            async with asyncio.timeout(15):
                await task
        ctx.listeners.remove(ex.on_transition)
        rt.drop(EXCHANGE)
