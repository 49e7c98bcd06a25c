"""A peer's published knowledge kept here as read-only copies (docs/exchange/README.md §5): pulled
page by page from where the last pull stopped (``exchange_knowledge_pulls``), so agents find the
province's articles (or a prefecture's) in their own knowledge base, marked with where they come from.
A copy is new, changed or retired as the peer's article is; nobody edits it here, and it is never
served on to other peers (app.exchange.knowledge lists only articles written here).

Every ``exchange_knowledge_pull_s`` for the peers configured with ``knowledge: true`` (one process:
lifecycle.singleton), and by an administrator's hand (POST /api/exchange/peers/{name}/knowledge/sync).
A boundary: each page's copies and the cursor after it are committed together, so a pull cut short
(the peer went down, a page was malformed) keeps what it applied and the next continues from there;
a malformed page applies nothing of itself. Publishes ``kb.article.saved`` for each copy changed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

import httpx
from pydantic import BaseModel, Field, ValidationError, model_validator
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.events import Event
from app.exchange import knowledge
from app.exchange.models import KnowledgePull
from app.kb import events as kbe
from app.kb import search as fts
from app.kb import service as kb
from app.kb.models import PUBLISHED, RETIRED, KbArticle, KbArticleVersion
from app.runtime import in_background
from app.settings import ExchangePeer

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger(__name__)
PAGE = 100  # articles asked for per request
MAX_PAGES = 200  # per pull (20,000 articles); the next pull continues
MAX_PAGE_BYTES = 8 * 1024 * 1024
FIRST_PULL_S = 5.0  # after the service starts


class _Article(BaseModel):
    id: int = Field(ge=1, le=2**62)
    status: Literal["published", "withdrawn"]
    version: int = Field(ge=1, le=2**31 - 1)
    title: str | None = Field(default=None, max_length=200)
    body: str | None = Field(default=None, max_length=50000)
    keywords: str | None = Field(default="", max_length=500)
    category_code: str | None = Field(default=None, max_length=16)
    scope: str | None = Field(default=None, max_length=32)
    published_at: datetime | None = None
    updated_at: datetime

    @model_validator(mode="after")
    def _text(self) -> _Article:
        if self.status == "published" and not ((self.title or "").strip() and (self.body or "").strip()):
            raise ValueError(f"published article {self.id} has no title or no text")
        return self


class _Next(BaseModel):
    updated_since: str = Field(max_length=64)
    after_id: int = Field(ge=0, le=2**62)


class _Page(BaseModel):
    articles: list[_Article] = Field(max_length=knowledge.MAX_LIMIT)
    next: _Next | None = None
    more: bool = False


class PullError(Exception):
    """The peer was unreachable, refused, or answered with something that is not a page of knowledge."""


@dataclass
class Applied:
    """What one page changed here."""

    added: int = 0
    updated: int = 0
    withdrawn: int = 0
    saved: list[Event] = field(default_factory=list)


@dataclass
class PullResult:
    peer: str
    pages: int = 0
    added: int = 0
    updated: int = 0
    withdrawn: int = 0
    copies: int = 0  # the peer's published articles held here after the pull
    error: str | None = None

    def add(self, page: Applied) -> None:
        self.pages += 1
        self.added, self.updated, self.withdrawn = (
            self.added + page.added, self.updated + page.updated, self.withdrawn + page.withdrawn
        )


def _editor(peer: str) -> str:
    return f"{peer}（数据交换）"[:64]


def _version(a: KbArticle, peer: str, now: datetime, note: str) -> KbArticleVersion:
    return KbArticleVersion(
        article_id=a.id, version=a.version, title=a.title, body=a.body, keywords=a.keywords,
        category_code=a.category_code, status=a.status, edited_by=_editor(peer), edited_at=now, note=note,
    )  # fmt: skip


async def apply(session: AsyncSession, peer: str, articles: list[_Article], categories: dict[str, str]) -> Applied:
    """One page's articles onto this knowledge base's copies of ``peer``'s (flushed, not committed)."""
    res = Applied()
    now = utcnow()
    ids = [art.id for art in articles]
    held = {
        a.origin_id: a
        for a in await session.scalars(
            select(KbArticle).where(KbArticle.origin == peer, KbArticle.origin_id.in_(ids))
        )
    }
    for art in articles:
        a = held.get(art.id)
        if art.status == "withdrawn":
            if a is None or a.status != PUBLISHED:
                continue
            a.status, a.version, a.updated_at, a.updated_by = RETIRED, a.version + 1, now, _editor(peer)
            session.add(_version(a, peer, now, f"{peer} 已撤回此文"))
            res.withdrawn += 1
            res.saved.append(kbe.saved(a))
            continue
        text = {
            "title": (art.title or "").strip(),
            "body": (art.body or "").strip(),
            "keywords": (art.keywords or "").strip(),
            "category_code": art.category_code if art.category_code in categories else None,
            "platform": None if art.scope in (None, "", "province") else art.scope,
        }
        if a is None:
            a = KbArticle(
                **text, origin=peer, origin_id=art.id, status=PUBLISHED, version=1, cited=0, created_at=now,
                updated_at=now, updated_by=_editor(peer), published_at=art.published_at or now,
            )  # fmt: skip
            session.add(a)
            await session.flush()
            res.added += 1
        elif a.status != PUBLISHED or any(getattr(a, k) != v for k, v in text.items()):
            for k, v in text.items():
                setattr(a, k, v)
            a.status, a.version, a.updated_at, a.updated_by = PUBLISHED, a.version + 1, now, _editor(peer)
            res.updated += 1
        else:
            continue
        session.add(_version(a, peer, now, f"自 {peer} 同步（对方第 {art.version} 版）"))
        await fts.index(session, a.id, a.title, a.keywords, a.body)
        res.saved.append(kbe.saved(a))
    await session.flush()
    return res


async def _fetch(peer: ExchangePeer, client: httpx.AsyncClient, since: str | None, after_id: int) -> _Page:
    try:
        r = await knowledge.pull(peer, client, since, after_id, PAGE)
    except httpx.HTTPError as e:
        raise PullError(f"{peer.name} 不可达：{type(e).__name__}") from None
    if r.status_code != 200:
        raise PullError(f"{peer.name} 拒绝：HTTP {r.status_code} {r.text[:200]}")
    if len(r.content) > MAX_PAGE_BYTES:
        raise PullError(f"{peer.name} 的知识页过大（{len(r.content)} 字节）")
    try:
        return _Page.model_validate_json(r.content)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ()))
        raise PullError(f"{peer.name} 的知识页格式错误：{where} {first.get('msg', '')}"[:250]) from None


async def _cursor(session: AsyncSession, peer: str) -> KnowledgePull:
    cur = await session.get(KnowledgePull, peer)
    if cur is None:
        cur = KnowledgePull(peer=peer, after_id=0, copies=0)
        session.add(cur)
    return cur


async def _failed(rt: Runtime, peer: str, error: str) -> None:
    async with rt.db.sessionmaker() as s:
        cur = await _cursor(s, peer)
        cur.tried_at, cur.last_error = utcnow(), error[:255]
        await s.commit()


async def sync(rt: Runtime, peer: ExchangePeer) -> PullResult:
    """Pulls ``peer``'s knowledge changed since the last pull, page by page, onto the copies here."""
    res = PullResult(peer.name)
    categories = kb.context_of(rt).categories
    await kb.ready()  # jieba, for the full-text index
    async with httpx.AsyncClient(timeout=rt.settings.exchange_timeout_s, trust_env=False) as client:
        for _ in range(MAX_PAGES):
            try:
                page, applied = await _one_page(rt, peer, client, categories, res)
            except PullError as e:
                res.error = str(e)
                await _failed(rt, peer.name, res.error)
                break
            res.add(applied)
            await rt.hub.publish_all(applied.saved)
            if not page.more:
                break
    return res


async def _one_page(
    rt: Runtime, peer: ExchangePeer, client: httpx.AsyncClient, categories: dict[str, str], res: PullResult
) -> tuple[_Page, Applied]:
    async with rt.db.read_sessionmaker() as s:
        cur = await s.get(KnowledgePull, peer.name)
        since, after_id = (cur.updated_since, cur.after_id) if cur is not None else (None, 0)
    page = await _fetch(peer, client, since, after_id)
    if page.more and (page.next is None or (page.next.updated_since, page.next.after_id) == (since, after_id)):
        raise PullError(f"{peer.name} 的知识页说还有下一页，却没有给出新的位置")  # it would be pulled again and again
    try:
        async with rt.db.sessionmaker() as s:
            applied = await apply(s, peer.name, page.articles, categories)
            cur = await _cursor(s, peer.name)
            if page.next is not None:
                cur.updated_since, cur.after_id = page.next.updated_since, page.next.after_id
            held = select(func.count()).where(KbArticle.origin == peer.name, KbArticle.status == PUBLISHED)
            cur.copies = res.copies = await s.scalar(held) or 0
            cur.tried_at = utcnow()
            if not page.more:
                cur.pulled_at, cur.last_error = cur.tried_at, None
            await s.commit()
    except IntegrityError:  # another pull of the same peer applied this page meanwhile
        raise PullError(f"{peer.name} 的知识正由另一次同步写入，稍后再试") from None
    return page, applied


async def _loop(rt: Runtime, peers: list[ExchangePeer], every_s: float) -> None:
    await asyncio.sleep(FIRST_PULL_S)
    while True:
        for peer in peers:
            try:
                res = await sync(rt, peer)
            except Exception:  # noqa: BLE001 - the loop outlives one bad pull (logged)
                log.exception("knowledge pull from %s failed", peer.name)
                continue
            if res.error:
                log.warning("knowledge pull from %s: %s", peer.name, res.error)
            elif res.added or res.updated or res.withdrawn:
                log.info("knowledge pull from %s: %d new, %d changed, %d withdrawn, %d held",
                         peer.name, res.added, res.updated, res.withdrawn, res.copies)  # fmt: skip
        await asyncio.sleep(every_s)


@asynccontextmanager
async def knowledge_pulls(rt: Runtime) -> AsyncIterator[None]:
    """STARTERS entry (one process: lifecycle.singleton)."""
    s = rt.settings
    peers = [p for p in s.exchange_peers if p.knowledge]
    if not (s.exchange_node and peers and s.exchange_knowledge_pull_s > 0):
        yield
        return
    async with in_background(_loop(rt, peers, s.exchange_knowledge_pull_s), "knowledge-pull"):
        yield
