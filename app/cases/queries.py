"""Who sees which case, lists, the supervision board, and how a case is shown to each role."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Role, User
from app.auth.service import sees_platform
from app.cases import workflow as wf
from app.cases.context import CaseContext
from app.cases.masking import mask_name, mask_phone, normalise_phone
from app.cases.models import Case, CaseUnit
from app.cases.schemas import CaseOut

DUE_STATES = ("intake", "returned", "reopened", "dispatched", "signed", "in_progress", "extension_requested")


def can_see(user: User, case: Case, co_units: list[str]) -> bool:
    if user.role is Role.admin:
        return True
    if user.role is Role.unit:
        return bool(user.unit_code) and (case.lead_unit == user.unit_code or user.unit_code in co_units)
    return sees_platform(user, case.platform)


def scoped(q: Select[Any], user: User) -> Select[Any]:
    if user.role is Role.admin:
        return q
    if user.role is Role.unit:
        mine = select(CaseUnit.case_id).where(CaseUnit.unit_code == (user.unit_code or "\x00"))
        return q.where(or_(Case.lead_unit == (user.unit_code or "\x00"), Case.id.in_(mine)))
    if sees_platform(user, None):
        return q
    return q.where(Case.platform == user.platform)


def to_out(
    case: Case,
    user: User | None,
    ctx: CaseContext,
    now: datetime,
    co_units: list[str],
    threshold: datetime | None = None,
    cls: type[CaseOut] = CaseOut,
) -> CaseOut:
    out = cls.model_validate(case)
    out.co_units = co_units
    out.status_label = wf.LABELS.get(case.status, case.status)
    out.category_name = ctx.rules.category_names().get(case.category_code or "")
    out.light = ctx.clock().light(case.due_at, now, threshold) if case.status in DUE_STATES else ""
    role = user.role.value if user is not None else wf.SYSTEM
    out.allowed_actions = wf.allowed_actions(case.status, role)
    # full phone/name only for the hotline staff of the platform, and for units unless 保密
    staff = user is not None and user.role in (Role.agent, Role.supervisor, Role.admin)
    if not staff and (user is None or case.confidential):
        out.citizen_phone = mask_phone(case.citizen_phone)
        out.citizen_name = mask_name(case.citizen_name)
    return out


async def co_units_of(session: AsyncSession, case_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {i: [] for i in case_ids}
    if not case_ids:
        return out
    rows = await session.execute(
        select(CaseUnit.case_id, CaseUnit.unit_code).where(
            CaseUnit.case_id.in_(case_ids), CaseUnit.role == "co"
        )
    )
    for cid, code in rows:
        out[cid].append(code)
    return out


async def list_cases(
    session: AsyncSession,
    user: User,
    *,
    status: str | None = None,
    citizen_phone: str | None = None,
    unit: str | None = None,
    platform: str | None = None,
    overdue: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Case], int]:
    q = scoped(select(Case), user)
    if status:
        q = q.where(Case.status.in_(status.split(",")))
    if citizen_phone:
        q = q.where(Case.citizen_phone == normalise_phone(citizen_phone))
    if unit:
        q = q.where(Case.lead_unit == unit)
    if platform:
        q = q.where(Case.platform == platform)
    if overdue is True:
        q = q.where(Case.overdue_at.is_not(None))
    total = await session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = await session.scalars(
        q.order_by(Case.created_at.desc(), Case.id.desc()).limit(limit).offset(offset)
    )
    return list(rows), int(total)


async def board(session: AsyncSession, user: User, ctx: CaseContext, now: datetime) -> dict[str, Any]:
    """督办 board: overdue (red), near-due (yellow), pending extension requests."""
    clock = ctx.clock()
    threshold = clock.near_threshold(now)
    base = scoped(select(Case), user).where(Case.status.in_(DUE_STATES))
    red = list(await session.scalars(base.where(Case.due_at < now).order_by(Case.due_at).limit(200)))
    yellow = list(
        await session.scalars(
            base.where(Case.due_at >= now, Case.due_at <= threshold).order_by(Case.due_at).limit(200)
        )
    )
    ext = list(
        await session.scalars(
            scoped(select(Case), user).where(Case.status == wf.EXTENSION).order_by(Case.updated_at).limit(200)
        )
    )
    warnings = list(clock.warnings) + ctx.config.calendar.coverage_warnings(now.astimezone(ctx.zone).date())
    return {
        "red": red,
        "yellow": yellow,
        "extension_requests": ext,
        "threshold": threshold,
        "warnings": list(dict.fromkeys(warnings)),
    }
