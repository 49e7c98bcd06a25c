"""Knowledge-base service: who may read and edit which article, saving with history, search and
suggestions, review reminders. No commits here: the router (or the scheduler) commits."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Role, User
from app.auth.service import sees_platform
from app.cases.context import of_runtime
from app.db import utcnow
from app.kb import search as fts
from app.kb import segment
from app.kb.models import DRAFT, PUBLISHED, RETIRED, STATUS_LABELS, KbArticle, KbArticleVersion
from app.kb.schemas import ArticleBrief, ArticleIn, ArticleOut, ArticleUpdate, PublicArticle
from app.kb.segment import query_terms
from app.units.models import Unit

PROVINCE = "province"
SNIPPET = 80


#: an explicit null in an update leaves these as they are (the columns cannot be empty)
NOT_NULL_FIELDS = ("title", "body", "keywords", "status")

class KbError(Exception):
    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class KbContext:
    """What the knowledge base needs from the running service: categories and platforms."""

    categories: dict[str, str]  # code -> name
    platforms: dict[str, str]  # code -> short name
    provincial: str
    zone: ZoneInfo
    units: dict[str, str] = field(default_factory=dict)  # code -> name (filled per request when shown)

    def today(self, now: datetime | None = None) -> date:
        return (now or utcnow()).astimezone(self.zone).date()


def context_of(runtime: Any) -> KbContext:
    cctx = of_runtime(runtime)
    return KbContext(
        categories=cctx.rules.category_names(),
        platforms={p.code: p.short_name for p in runtime.config.platforms},
        provincial=cctx.provincial,
        zone=cctx.zone,
    )


async def ready() -> None:
    """jieba's dictionary loads once (about a second of CPU): in a thread, not in the event loop."""
    if not segment.loaded():
        await asyncio.to_thread(segment.warm_up)


def scope_of(a: KbArticle) -> str:
    return a.platform or PROVINCE


def scope_name(ctx: KbContext, platform: str | None) -> str:
    return "全省" if platform is None else ctx.platforms.get(platform, platform)


# --- who may do what --------------------------------------------------------------------------


def readable_platforms(user: User) -> list[str] | None:
    """None: every platform; otherwise the user's own (whole-province articles are always readable)."""
    return None if sees_platform(user, None) else [user.platform]


def may_read(user: User, a: KbArticle) -> bool:
    if a.platform is not None and not sees_platform(user, a.platform):
        return False
    if a.status == PUBLISHED:
        return True
    return user.role is not Role.agent or may_edit(user, a)


def may_edit(user: User, a: KbArticle) -> bool:
    """Admins: any article. Supervisors: those of the platforms they see. Units: their own unit's.
    Nobody: a copy of a peer's article (its own deployment maintains it; app.exchange.knowledge_copies)."""
    if a.origin is not None:
        return False
    if user.role is Role.admin:
        return True
    if user.role is Role.unit:
        return bool(user.unit_code) and a.owner_unit == user.unit_code
    if user.role is Role.supervisor:
        return sees_platform(user, a.platform) if a.platform is not None else sees_platform(user, None)
    return False


def readable_statuses(user: User) -> tuple[str, ...]:
    return (PUBLISHED,) if user.role is Role.agent else (PUBLISHED, DRAFT, RETIRED)


async def _resolve_scope(session: AsyncSession, user: User, ctx: KbContext, scope: str) -> str | None:
    scope = scope.strip()
    if scope in (PROVINCE, "全省"):
        if not sees_platform(user, None):
            raise KbError("只有省级平台可以编写全省适用的知识", 403)
        return None
    if not scope:
        return None if user.platform == ctx.provincial else user.platform
    if scope not in ctx.platforms:
        raise KbError(f"未知适用范围 {scope!r}：应为 province 或平台代码（{', '.join(ctx.platforms)}）")
    if not sees_platform(user, scope):
        raise KbError(f"{user.username} 属于 {user.platform}，不能为 {scope} 编写知识", 403)
    return scope


async def _owner(session: AsyncSession, user: User, owner: str | None) -> str | None:
    if user.role is Role.unit:
        if not user.unit_code:
            raise KbError("该单位账号未关联单位", 403)
        if owner not in (None, user.unit_code):
            raise KbError(f"单位只能维护本单位的知识（{user.unit_code}）", 403)
        return user.unit_code
    if owner is None:
        return None
    unit = await session.scalar(select(Unit).where(Unit.code == owner))
    if unit is None:
        raise KbError(f"未知单位 {owner!r}")
    if not sees_platform(user, unit.platform):
        raise KbError(f"单位 {owner} 属于 {unit.platform}", 403)
    return owner


def _check_category(ctx: KbContext, code: str | None) -> None:
    if code and code not in ctx.categories:
        raise KbError(f"未知分类 {code!r}")


def _editor(user: User) -> str:
    return (user.display_name or user.username)[:64]


def _version(a: KbArticle, user: User, now: datetime, note: str | None) -> KbArticleVersion:
    return KbArticleVersion(
        article_id=a.id, version=a.version, title=a.title, body=a.body, keywords=a.keywords,
        category_code=a.category_code, status=a.status, edited_by=_editor(user), edited_at=now, note=note,
    )  # fmt: skip


# --- saving -----------------------------------------------------------------------------------


async def create(
    session: AsyncSession, data: ArticleIn, user: User, ctx: KbContext, *, now: datetime | None = None
) -> KbArticle:
    if user.role is Role.agent:
        raise KbError("话务员不能编写知识库文章", 403)
    now = now or utcnow()
    _check_category(ctx, data.category_code)
    a = KbArticle(
        title=data.title.strip(), body=data.body.strip(), keywords=data.keywords.strip(),
        category_code=data.category_code, platform=await _resolve_scope(session, user, ctx, data.scope),
        owner_unit=await _owner(session, user, data.owner_unit), status=data.status, version=1,
        review_due=data.review_due, cited=0, created_at=now, updated_at=now, updated_by=_editor(user),
        published_at=now if data.status == PUBLISHED else None,
    )  # fmt: skip
    if not may_edit(user, a):
        raise KbError("您无权编写这条知识", 403)
    await ready()
    session.add(a)
    await session.flush()
    session.add(_version(a, user, now, data.note or "新建"))
    await fts.index(session, a.id, a.title, a.keywords, a.body)
    await session.flush()
    return a


async def update_article(
    session: AsyncSession, a: KbArticle, data: ArticleUpdate, user: User, ctx: KbContext,
    *, now: datetime | None = None,
) -> KbArticle:  # fmt: skip
    """A new version: the old one stays in the history."""
    if not may_edit(user, a):
        raise KbError("您无权修改这条知识", 403)
    now = now or utcnow()
    fields = data.model_dump(exclude_unset=True, exclude={"note"})
    if "category_code" in fields:
        _check_category(ctx, fields["category_code"])
    if "owner_unit" in fields:
        fields["owner_unit"] = await _owner(session, user, fields["owner_unit"])
    for k in ("title", "body", "keywords"):
        if fields.get(k) is not None:
            fields[k] = fields[k].strip()
    changed = {
        k: v for k, v in fields.items() if getattr(a, k) != v and not (v is None and k in NOT_NULL_FIELDS)
    }
    if not changed:
        return a
    if "review_due" in changed:
        a.review_reminded_for = None
    if changed.get("status") == PUBLISHED:
        a.published_at = now
    for k, v in changed.items():
        setattr(a, k, v)
    a.version += 1
    a.updated_at, a.updated_by = now, _editor(user)
    session.add(_version(a, user, now, data.note))
    await ready()
    await fts.index(session, a.id, a.title, a.keywords, a.body)
    await session.flush()
    return a


async def get(session: AsyncSession, article_id: int) -> KbArticle | None:
    return await session.get(KbArticle, article_id)


async def versions(session: AsyncSession, a: KbArticle) -> list[KbArticleVersion]:
    q = (
        select(KbArticleVersion)
        .where(KbArticleVersion.article_id == a.id)
        .order_by(KbArticleVersion.version.desc())
    )
    return list(await session.scalars(q))


async def cite(session: AsyncSession, a: KbArticle) -> None:
    """A case was answered directly from this article (its use counts in statistics and ranking)."""
    await session.execute(
        update(KbArticle).where(KbArticle.id == a.id).values(cited=KbArticle.cited + 1)
        .execution_options(synchronize_session=False)
    )  # fmt: skip


# --- reading ----------------------------------------------------------------------------------


def to_out(a: KbArticle, user: User, ctx: KbContext, today: date) -> ArticleOut:
    return ArticleOut(
        id=a.id, title=a.title, body=a.body, keywords=a.keywords, category_code=a.category_code,
        category_name=ctx.categories.get(a.category_code or ""), scope=scope_of(a),
        scope_name=scope_name(ctx, a.platform), owner_unit=a.owner_unit,
        owner_name=ctx.units.get(a.owner_unit or "", a.owner_unit or "热线办公室"), status=a.status,
        status_label=STATUS_LABELS.get(a.status, a.status), version=a.version, review_due=a.review_due,
        review_overdue=a.status == PUBLISHED and a.review_due is not None and a.review_due < today,
        cited=a.cited, updated_at=a.updated_at, updated_by=a.updated_by, can_edit=may_edit(user, a),
        origin=a.origin,
    )  # fmt: skip


def to_public(a: KbArticle, ctx: KbContext) -> PublicArticle:
    return PublicArticle(
        id=a.id, title=a.title, body=a.body, category_name=ctx.categories.get(a.category_code or ""),
        scope_name=scope_name(ctx, a.platform), updated_at=a.updated_at,
    )  # fmt: skip


def snippet(body: str, terms: list[str], width: int = SNIPPET) -> str:
    """A short excerpt of the body around the first query word found in it."""
    text = " ".join(body.split())
    low = text.lower()
    hits = [i for i in (low.find(t) for t in terms) if i >= 0]
    start = max(0, min(hits) - width // 4) if hits else 0
    out = text[start : start + width]
    return ("…" if start > 0 else "") + out + ("…" if start + width < len(text) else "")


def brief(a: KbArticle, ctx: KbContext, terms: list[str], score: float | None) -> ArticleBrief:
    return ArticleBrief(
        id=a.id, title=a.title, snippet=snippet(a.body, terms), category_code=a.category_code,
        category_name=ctx.categories.get(a.category_code or ""), scope=scope_of(a), status=a.status,
        score=round(score, 6) if score is not None else None, origin=a.origin,
    )  # fmt: skip


async def _load(session: AsyncSession, ids: list[int]) -> dict[int, KbArticle]:
    if not ids:
        return {}
    return {a.id: a for a in await session.scalars(select(KbArticle).where(KbArticle.id.in_(ids)))}


async def search(
    session: AsyncSession,
    q: str,
    *,
    statuses: tuple[str, ...],
    platforms: list[str] | None,
    category: str | None = None,
    only_category: bool = False,
    limit: int = 10,
    offset: int = 0,
) -> tuple[list[str], list[tuple[KbArticle, float]]]:
    """The query's words and the matching articles, best first."""
    await ready()
    terms = query_terms(q)
    hits = await fts.search(
        session, terms, statuses=statuses, platforms=platforms, category=category,
        only_category=only_category, limit=limit, offset=offset,
    )  # fmt: skip
    arts = await _load(session, [h.article_id for h in hits])
    return terms, [(arts[h.article_id], h.score) for h in hits if h.article_id in arts]


async def browse(
    session: AsyncSession,
    *,
    statuses: tuple[str, ...],
    platforms: list[str] | None,
    category: str | None = None,
    owner_unit: str | None = None,
    review_before: date | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[KbArticle], int]:
    """Articles without a query: most used first, then most recently updated."""
    cond: list[ColumnElement[bool]] = [KbArticle.status.in_(statuses)]
    if platforms is not None:
        cond.append(or_(KbArticle.platform.is_(None), KbArticle.platform.in_(platforms)))
    if category:
        cond.append(or_(KbArticle.category_code == category, KbArticle.category_code.startswith(category)))
    if owner_unit:
        cond.append(KbArticle.owner_unit == owner_unit)
    if review_before is not None:
        cond.append(KbArticle.review_due < review_before)
    total = await session.scalar(select(func.count()).select_from(KbArticle).where(*cond)) or 0
    q = (
        select(KbArticle)
        .where(*cond)
        .order_by(KbArticle.cited.desc(), KbArticle.updated_at.desc(), KbArticle.id)
    )
    return list(await session.scalars(q.limit(limit).offset(offset))), int(total)


async def suggest(
    session: AsyncSession,
    text: str,
    *,
    platforms: list[str] | None,
    category: str | None,
    platform: str | None = None,
    limit: int = 5,
) -> tuple[list[str], list[tuple[KbArticle, float | None]]]:
    """Articles for the agent: by the words of the case text or transcript (the call's category
    boosted); with no matching words, the category's most used articles; with no category either
    (the phone is ringing), the most used articles of the call's platform, its own ones first."""
    terms, hits = await search(
        session, text, statuses=(PUBLISHED,), platforms=platforms, category=category, limit=limit
    )
    if hits:
        return terms, [(a, s) for a, s in hits]
    rows, _ = await browse(
        session, statuses=(PUBLISHED,), platforms=platforms, category=category, limit=limit if category else 50
    )
    if not category:
        rows = sorted(rows, key=lambda a: a.platform is None or a.platform != platform)[:limit]
    return terms, [(a, None) for a in rows]
