"""移交 lists for both sides (API GET /api/case-handovers, the page /ui/handovers): what waits at my
platform for acceptance, and what my platform handed over, with the case's current status through
办结 and 回访. The actions themselves are rows of the transition table (hand_over, accept_handover,
refuse_handover, recall_handover) taken through POST /api/cases/{number}/transitions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import require_roles
from app.auth.models import Role, User
from app.auth.service import sees_platform
from app.bounds import PlatformCode
from app.cases import queries
from app.cases import workflow as wf
from app.cases.context import CaseContext
from app.cases.models import Case, CaseHandover
from app.cases.router import Ctx
from app.deps import SessionDep

STATE_LABELS = {"pending": "待接收", "accepted": "已接收", "returned": "已退回", "recalled": "已撤回"}

router = APIRouter(prefix="/api/case-handovers", tags=["cases"])
Office = Annotated[User, Depends(require_roles(Role.agent, Role.supervisor, Role.admin))]


class HandoverOut(BaseModel):
    number: str
    summary: str
    case_platform: str  # who owns the case now
    case_status: str
    case_status_label: str
    rating: int | None
    from_platform: str
    to_platform: str
    reason: str
    state: str  # pending | accepted | returned | recalled
    state_label: str
    sent_at: datetime
    sent_by: str
    decided_at: datetime | None
    decided_by: str | None
    decision_note: str | None
    allowed_actions: list[str]


class PlatformOut(BaseModel):
    code: str
    name: str


class HandoverList(BaseModel):
    platform: str
    provincial: str
    platforms: list[PlatformOut]
    items: list[HandoverOut]


async def handovers(
    session: AsyncSession, user: User, ctx: CaseContext, platform: str, direction: str, limit: int = 200
) -> list[HandoverOut]:
    q = select(CaseHandover, Case).join(Case, Case.id == CaseHandover.case_id)
    if direction == "in":
        q = q.where(CaseHandover.to_platform == platform, CaseHandover.state == "pending")
    else:
        q = q.where(CaseHandover.from_platform == platform)
    rows = await session.execute(q.order_by(CaseHandover.sent_at.desc(), CaseHandover.id.desc()).limit(limit))
    out = []
    for h, c in rows.tuples():
        out.append(
            HandoverOut(
                number=c.number, summary=c.summary, case_platform=c.platform, case_status=c.status,
                case_status_label=wf.LABELS.get(c.status, c.status), rating=c.rating,
                from_platform=h.from_platform, to_platform=h.to_platform, reason=h.reason, state=h.state,
                state_label=STATE_LABELS.get(h.state, h.state), sent_at=h.sent_at, sent_by=h.sent_by,
                decided_at=h.decided_at, decided_by=h.decided_by, decision_note=h.decision_note,
                allowed_actions=wf.allowed_actions(
                    c.status, user.role.value, None, queries.side_of(user, c)
                ) if h.state == "pending" and not ctx.held_remotely(c.status, c.platform, c.transfer_to) else [],
            )
        )  # fmt: skip
    return out


@router.get("", response_model=HandoverList)
async def list_handovers(
    session: SessionDep,
    user: Office,
    ctx: Ctx,
    direction: Literal["in", "out"] = "in",
    platform: PlatformCode | None = None,
) -> HandoverList:
    """``in``: hand-overs waiting at the platform for acceptance; ``out``: those it sent, with the
    case's status now. ``platform`` defaults to the user's; only province users and admins pick another."""
    platform = platform or user.platform or ctx.provincial
    if not sees_platform(user, platform):
        raise HTTPException(403, f"{user.username} 属于 {user.platform}，不能查看 {platform} 的交接")
    if not ctx.has_platform(platform):
        raise HTTPException(422, f"未知平台 {platform!r}")
    return HandoverList(
        platform=platform,
        provincial=ctx.provincial,
        platforms=[PlatformOut(code=p.code, name=p.short_name) for p in ctx.config.platforms],
        items=await handovers(session, user, ctx, platform, direction),
    )
