"""Published knowledge a peer pulls (signed GET /exchange/v1/knowledge, docs/exchange/README.md §5):
articles published at least once whose scope is the whole province or a platform the peer serves,
incrementally by (updated_at, id). An article withdrawn since (draft again or retired) is listed as
``withdrawn`` with no text, so the peer drops its copy. No commits; the pulling side's client too."""

from __future__ import annotations

import secrets
import time
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.exchange import protocol as p
from app.kb.models import PUBLISHED, KbArticle
from app.settings import ExchangePeer

MAX_LIMIT = 500


def _out(a: KbArticle, categories: dict[str, str]) -> dict[str, Any]:
    if a.status != PUBLISHED:
        return {
            "id": a.id,
            "status": "withdrawn",
            "version": a.version,
            "updated_at": a.updated_at.isoformat(),
        }
    return {
        "id": a.id, "status": "published", "version": a.version, "title": a.title, "body": a.body,
        "keywords": a.keywords, "category_code": a.category_code,
        "category_name": categories.get(a.category_code or ""), "scope": a.platform or "province",
        "published_at": a.published_at.isoformat() if a.published_at else None,
        "updated_at": a.updated_at.isoformat(),
    }  # fmt: skip


async def articles_for(
    session: AsyncSession,
    platforms: list[str],
    categories: dict[str, str],
    since: datetime | None,
    after_id: int,
    limit: int,
) -> dict[str, Any]:
    """The next page of what ``platforms``' peer may read, changed after (since, after_id)."""
    q = select(KbArticle).where(
        KbArticle.published_at.is_not(None),
        KbArticle.origin.is_(None),  # written here: copies of another peer's are not ours to pass on
        or_(KbArticle.platform.is_(None), KbArticle.platform.in_(platforms)),
    )
    if since is None:  # a first pull: what is published now (nothing to withdraw yet)
        q = q.where(KbArticle.status == PUBLISHED)
    else:
        q = q.where(
            or_(KbArticle.updated_at > since, and_(KbArticle.updated_at == since, KbArticle.id > after_id))
        )
    rows = list(await session.scalars(q.order_by(KbArticle.updated_at, KbArticle.id).limit(limit + 1)))
    more, rows = len(rows) > limit, rows[:limit]
    nxt = {"updated_since": rows[-1].updated_at.isoformat(), "after_id": rows[-1].id} if rows else None
    if nxt is None and since is not None:
        nxt = {"updated_since": since.isoformat(), "after_id": after_id}
    return {"articles": [_out(a, categories) for a in rows], "next": nxt, "more": more}


def target(updated_since: str | None, after_id: int, limit: int) -> str:
    """The path and query a pull signs and requests."""
    params: dict[str, str] = {"limit": str(limit)}
    if updated_since:
        params |= {"updated_since": updated_since, "after_id": str(after_id)}
    return f"{p.KNOWLEDGE_PATH}?{urlencode(params)}"


async def pull(
    peer: ExchangePeer,
    client: httpx.AsyncClient,
    updated_since: str | None,
    after_id: int = 0,
    limit: int = 100,
) -> httpx.Response:
    """One signed page from ``peer`` (the caller reads the answer: the peer's JSON or its refusal)."""
    path = target(updated_since, after_id, limit)
    key = peer.keys[0]
    ts, nonce = str(int(time.time())), secrets.token_hex(16)
    headers = {
        p.H_KEY: key.id,
        p.H_TS: ts,
        p.H_NONCE: nonce,
        p.H_SIG: p.sign(key.secret, ts, nonce, "GET", path, b""),
    }
    return await client.get(peer.url + path, headers=headers)
