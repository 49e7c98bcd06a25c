"""Knowledge-base API. Every route checks the role and the platform scope; the public routes show
published articles only, without internal fields. The router commits, then publishes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from app.auth.deps import require_roles
from app.auth.models import Role, User
from app.auth.service import sees_platform
from app.bounds import IdPath, Offset
from app.cases import events as case_events
from app.cases import queries as case_queries
from app.cases import service as cases
from app.cases.context import of_runtime
from app.deps import HubDep, SessionDep
from app.events import commit_and_publish
from app.kb import events, importer, service
from app.kb.models import PUBLISHED, KbArticle
from app.kb.schemas import (
    ArticleIn,
    ArticleOut,
    ArticleUpdate,
    ImportIn,
    ImportOut,
    PublicArticle,
    SearchOut,
    VersionOut,
)
from app.kb.service import KbContext, KbError
from app.runtime import Runtime, get_runtime
from app.units.models import Unit

router = APIRouter(tags=["knowledge base"])
Staff = Annotated[User, Depends(require_roles(Role.agent, Role.supervisor, Role.admin, Role.unit))]
Office = Annotated[User, Depends(require_roles(Role.agent, Role.supervisor, Role.admin))]
Editor = Annotated[User, Depends(require_roles(Role.supervisor, Role.admin, Role.unit))]
Q = Annotated[str, Query(max_length=2000, description="words to look for (Chinese is segmented)")]


async def kb_context(runtime: Annotated[Runtime, Depends(get_runtime)]) -> KbContext:
    return service.context_of(runtime)


Ctx = Annotated[KbContext, Depends(kb_context)]


def _err(e: KbError) -> HTTPException:
    return HTTPException(e.status, str(e))


async def _with_units(session: AsyncSession, ctx: KbContext) -> KbContext:
    ctx.units = {u.code: u.name for u in await session.scalars(select(Unit))}
    return ctx


async def _readable(session: AsyncSession, article_id: int, user: User) -> KbArticle:
    a = await service.get(session, article_id)
    if a is None or not service.may_read(user, a):
        raise HTTPException(404, f"没有知识 {article_id}")
    return a


def _category(ctx: KbContext, category: str | None) -> str | None:
    if category and category not in ctx.categories:
        raise HTTPException(422, f"未知分类 {category!r}")
    return category or None


@router.get("/api/kb/articles", response_model=SearchOut)
async def list_articles(
    session: SessionDep,
    user: Staff,
    ctx: Ctx,
    q: Q = "",
    category: str | None = None,
    status: str | None = None,
    mine: bool = False,
    review_overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Offset = 0,
) -> SearchOut:
    """Search (ranked by relevance) or browse the articles this user may read."""
    allowed = service.readable_statuses(user)
    statuses = tuple(s for s in (status.split(",") if status else allowed) if s in allowed)
    if not statuses:
        raise HTTPException(422, f"状态只能是 {', '.join(allowed)}")
    platforms = service.readable_platforms(user)
    cat = _category(ctx, category)
    owner = user.unit_code if (mine and user.role is Role.unit) else None
    if q.strip() and not review_overdue and not owner:
        terms, hits = await service.search(
            session, q, statuses=statuses, platforms=platforms, category=cat, only_category=bool(cat),
            limit=limit, offset=offset,
        )  # fmt: skip
        return SearchOut(query=q, terms=terms, items=[service.brief(a, ctx, terms, s) for a, s in hits])
    rows, _ = await service.browse(
        session, statuses=statuses, platforms=platforms, category=cat, owner_unit=owner,
        review_before=ctx.today() if review_overdue else None, limit=limit, offset=offset,
    )  # fmt: skip
    return SearchOut(query=q, terms=[], items=[service.brief(a, ctx, [], None) for a in rows])


@router.get("/api/kb/suggest", response_model=SearchOut)
async def suggest(
    session: SessionDep,
    user: Office,
    ctx: Ctx,
    text: Q = "",
    category: str | None = None,
    platform: str | None = None,
    limit: Annotated[int, Query(ge=1, le=20)] = 5,
) -> SearchOut:
    """Agent assist: published articles for a call — from the case text or the live transcript, the
    call's category boosted; with no words yet, the category's most used articles."""
    if platform and not sees_platform(user, platform):
        raise HTTPException(403, f"{user.username} 不接听 {platform} 的来电")
    platforms = [platform] if platform else service.readable_platforms(user)
    terms, hits = await service.suggest(
        session, text, platforms=platforms, category=_category(ctx, category), platform=platform, limit=limit
    )
    return SearchOut(query=text, terms=terms, items=[service.brief(a, ctx, terms, s) for a, s in hits])


@router.post("/api/kb/articles", response_model=ArticleOut, status_code=201)
async def create_article(
    data: ArticleIn, session: SessionDep, hub: HubDep, user: Editor, ctx: Ctx
) -> ArticleOut:
    try:
        a = await service.create(session, data, user, ctx)
    except KbError as e:
        raise _err(e) from None
    out = service.to_out(a, user, await _with_units(session, ctx), ctx.today())
    await commit_and_publish(session, hub, [events.saved(a)])
    return out


@router.get("/api/kb/articles/{article_id}", response_model=ArticleOut)
async def get_article(article_id: IdPath, session: SessionDep, user: Staff, ctx: Ctx) -> ArticleOut:
    a = await _readable(session, article_id, user)
    return service.to_out(a, user, await _with_units(session, ctx), ctx.today())


@router.patch("/api/kb/articles/{article_id}", response_model=ArticleOut)
async def update_article(
    article_id: IdPath, data: ArticleUpdate, session: SessionDep, hub: HubDep, user: Editor, ctx: Ctx
) -> ArticleOut:
    """Edit, publish (status published) or retire (status retired): each save is a new version."""
    a = await _readable(session, article_id, user)
    try:
        await service.update_article(session, a, data, user, ctx)
    except KbError as e:
        await session.rollback()
        raise _err(e) from None
    out = service.to_out(a, user, await _with_units(session, ctx), ctx.today())
    await commit_and_publish(session, hub, [events.saved(a)])
    return out


@router.get("/api/kb/articles/{article_id}/versions", response_model=list[VersionOut])
async def article_versions(article_id: IdPath, session: SessionDep, user: Staff) -> list[VersionOut]:
    a = await _readable(session, article_id, user)
    if user.role is Role.agent:
        raise HTTPException(403, "修订历史只对能编辑这条知识的人开放")
    return [VersionOut.model_validate(v) for v in await service.versions(session, a)]


@router.post("/api/kb/import", response_model=ImportOut)
async def import_articles(
    data: ImportIn, session: SessionDep, hub: HubDep, user: Editor, ctx: Ctx
) -> ImportOut:
    """Import from CSV or Markdown. All or nothing: any bad row imports none and says which."""
    rows, errors = importer.parse(data.format, data.content, data.status)
    if errors:
        raise HTTPException(422, {"message": "没有导入任何知识", "errors": errors[:50]})
    created: list[KbArticle] = []
    for where, row in rows:
        try:
            created.append(await service.create(session, row, user, ctx))
        except KbError as e:
            await session.rollback()
            detail = {"message": "nothing imported", "errors": [f"{where}: {e}"]}
            raise HTTPException(e.status, detail) from None
    await commit_and_publish(session, hub, [events.saved(a) for a in created])
    return ImportOut(created=len(created), ids=[a.id for a in created], errors=[])


class AnswerIn(BaseModel):
    case_number: str = Field(min_length=1, max_length=32)
    note: str | None = Field(default=None, max_length=20000, description="default: the article's text")


@router.post("/api/kb/articles/{article_id}/answer")
async def answer_case(
    article_id: IdPath,
    body: AnswerIn,
    session: SessionDep,
    hub: HubDep,
    user: Office,
    runtime: Annotated[Runtime, Depends(get_runtime)],
) -> dict[str, object]:
    """直接答复: close a case in intake on the spot with this article's answer (cited in its audit row)."""
    a = await _readable(session, article_id, user)
    if a.status != PUBLISHED:
        raise HTTPException(409, "只有已发布的知识可用于答复群众")
    case = await cases.get_by_number(session, body.case_number[:32])
    if case is None or not case_queries.can_see(user, case, []):
        raise HTTPException(404, f"没有工单 {body.case_number}")
    note = (body.note or "").strip() or f"依据知识库《{a.title}》答复：{a.body}"
    try:
        ev = await cases.transition(
            session, case, "answer_kb", user, note[:20000], ctx=of_runtime(runtime),
            article={"id": a.id, "title": a.title, "version": a.version},
        )  # fmt: skip
        await service.cite(session, a)
    except cases.IllegalTransition as e:
        await session.rollback()
        raise HTTPException(403 if e.forbidden else 409, str(e)) from None
    except cases.CaseError as e:
        await session.rollback()
        raise HTTPException(e.status, str(e)) from None
    except StaleDataError:
        await session.rollback()
        raise HTTPException(
            409, f"case {case.number} was changed by someone else meanwhile; reload it"
        ) from None
    await commit_and_publish(session, hub, [case_events.of_audit(ev, case)])
    return {
        "number": case.number,
        "status": case.status,
        "article": {"id": a.id, "title": a.title, "version": a.version},
    }


# --- public: published articles only, no internal fields ----------------------------------------


@router.get("/public/kb/articles", response_model=list[PublicArticle], tags=["public"])
async def public_search(
    session: SessionDep,
    ctx: Ctx,
    q: Annotated[str, Query(max_length=200)] = "",
    category: str | None = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
    offset: Offset = 0,
) -> list[PublicArticle]:
    cat = _category(ctx, category)
    if q.strip():
        _, hits = await service.search(
            session, q, statuses=(PUBLISHED,), platforms=None, category=cat, only_category=bool(cat),
            limit=limit, offset=offset,
        )  # fmt: skip
        return [service.to_public(a, ctx) for a, _ in hits]
    rows, _ = await service.browse(
        session, statuses=(PUBLISHED,), platforms=None, category=cat, limit=limit, offset=offset
    )
    return [service.to_public(a, ctx) for a in rows]


@router.get("/public/kb/articles/{article_id}", response_model=PublicArticle, tags=["public"])
async def public_article(article_id: IdPath, session: SessionDep, ctx: Ctx) -> PublicArticle:
    a = await service.get(session, article_id)
    if a is None or a.status != PUBLISHED:
        raise HTTPException(404, f"没有知识 {article_id}")
    return service.to_public(a, ctx)
