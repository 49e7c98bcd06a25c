"""Case service: intake, transitions (through workflow.TRANSITIONS only), ratings, merging.
No commits here: the caller (HTTP route, AGI handler, scheduler) commits, then publishes events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Role, User
from app.auth.service import sees_platform
from app.cases import workflow as wf
from app.cases.context import CaseContext, current
from app.cases.deadlines import STAGE_OF_STATE
from app.cases.masking import normalise_phone
from app.cases.models import Case, CaseEvent, CaseReminder, CaseUnit
from app.cases.numbering import next_number
from app.cases.schemas import CaseCreate
from app.db import utcnow
from app.outbox.service import enqueue
from app.units.service import UnitError, require_active_unit

IllegalTransition = wf.IllegalTransition


class CaseError(Exception):
    """A refused case operation: ``status`` is the HTTP status the boundary should answer."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def actor_role(actor: User | None) -> str:
    return actor.role.value if actor is not None else wf.SYSTEM


def _audit(
    case: Case,
    action: str,
    frm: str,
    to: str,
    actor: User | None,
    note: str | None,
    now: datetime,
    data: dict[str, Any] | None = None,
) -> CaseEvent:
    return CaseEvent(
        case_id=case.id,
        at=now,
        actor_id=actor.id if actor else None,
        actor_name=(actor.display_name or actor.username) if actor else "system",
        actor_role=actor_role(actor),
        action=action,
        from_status=frm,
        to_status=to,
        note=note,
        data=data,
    )


def _set_stage_due(case: Case) -> None:
    stage = STAGE_OF_STATE.get(case.status)
    due = getattr(case, stage[1]) if stage else None
    if due != case.due_at:
        case.overdue_at = None
    case.due_at = due


def _warn(case: Case, warnings: list[str]) -> None:
    if warnings:
        case.calendar_warning = "; ".join(warnings)[:255]


def _sms_citizen(session: AsyncSession, case: Case, kind: str, body: str, now: datetime) -> None:
    """An SMS to the citizen through the outbox, when the case has a phone number."""
    if case.citizen_phone:
        enqueue(
            session,
            channel="sms",
            recipient=case.citizen_phone,
            case_id=case.id,
            kind=kind,
            now=now,
            body=body,
        )


async def create_case(
    session: AsyncSession,
    data: CaseCreate,
    actor: User | None,
    *,
    now: datetime | None = None,
    ctx: CaseContext | None = None,
) -> Case:
    """受理: a new case in state intake, numbered, with its dispatch deadline. actor None = system."""
    ctx = current(ctx)
    now = now or utcnow()
    platform = data.platform or (actor.platform if actor is not None else None) or "province"
    if not ctx.has_platform(platform):
        raise CaseError(f"unknown platform {platform!r}")
    if actor is not None and not sees_platform(actor, platform):
        raise CaseError(
            f"{actor.username} works for {actor.platform} and cannot take cases for {platform}; "
            "take it for your platform and transfer it",
            403,
        )
    if data.category_code and data.category_code not in ctx.rules.category_names():
        raise CaseError(f"unknown category {data.category_code!r}")
    clock = ctx.clock()
    number = await next_number(session, ctx.rules.prefix(platform), now.astimezone(ctx.zone).date())
    fields = data.model_dump(exclude={"platform"})
    fields["citizen_phone"] = normalise_phone((data.citizen_phone or "").strip() or None)
    fields["citizen_name"] = (data.citizen_name or "").strip() or None
    case = Case(
        number=number,
        platform=platform,
        status=wf.INTAKE,
        created_at=now,
        updated_at=now,
        created_by=actor.id if actor else None,
        extension_count=0,
        published=False,
        **fields,
    )
    case.dispatch_due = clock.dispatch_due(now)
    _set_stage_due(case)
    _warn(case, clock.warnings)
    session.add(case)
    await session.flush()
    session.add(_audit(case, "create", "", wf.INTAKE, actor, None, now, {"channel": data.channel}))
    _sms_citizen(
        session,
        case,
        "receipt",
        f"【12345】您反映的问题已受理，工单号 {case.number}，可凭工单号查询办理进度。",
        now,
    )
    await session.flush()
    return case


async def unit_codes(session: AsyncSession, case: Case) -> list[str]:
    if case.lead_unit is None:
        return []  # never dispatched: no units
    rows = await session.scalars(
        select(CaseUnit.unit_code).where(CaseUnit.case_id == case.id, CaseUnit.role == "co")
    )
    return list(rows)


def _check_unit_actor(case: Case, action: str, actor: User | None, co: list[str]) -> None:
    if actor is None or actor.role is not Role.unit:
        return
    if actor.unit_code == case.lead_unit:
        return
    if action == "progress" and actor.unit_code in co:
        return
    raise IllegalTransition(f"only the lead unit ({case.lead_unit}) may {action} this case", forbidden=True)


async def transition(
    session: AsyncSession,
    case: Case,
    action: str,
    actor: User | None,
    note: str | None = None,
    *,
    now: datetime | None = None,
    ctx: CaseContext | None = None,
    unit_code: str | None = None,
    co_units: list[str] | tuple[str, ...] = (),
    target_platform: str | None = None,
    rating: int | None = None,
    merged_into: str | None = None,
) -> CaseEvent:
    """Apply one action through the transition table; raise IllegalTransition (nothing changes) or CaseError."""
    ctx = current(ctx)
    now = now or utcnow()
    note = (note or "").strip() or None
    rule = wf.step(case.status, action, actor_role(actor), note)
    if actor is not None and actor.role is Role.unit and actor.unit_code != case.lead_unit:
        _check_unit_actor(case, action, actor, await unit_codes(session, case))
    clock = ctx.clock()
    frm = case.status
    data: dict[str, Any] = {}
    if action == "dispatch":
        if not unit_code:
            raise CaseError("dispatch needs unit_code (the lead unit)")
        codes = [unit_code, *[c for c in dict.fromkeys(co_units) if c != unit_code]]
        for code in codes:
            try:
                unit = await require_active_unit(session, code)
            except UnitError as e:
                raise CaseError(str(e)) from None
            if unit.platform != case.platform:
                raise CaseError(
                    f"unit {code} belongs to {unit.platform}, the case to {case.platform}; transfer it"
                )
        await session.execute(delete(CaseUnit).where(CaseUnit.case_id == case.id))
        session.add_all(
            [
                CaseUnit(case_id=case.id, unit_code=c, role="lead" if i == 0 else "co")
                for i, c in enumerate(codes)
            ]
        )
        case.lead_unit, case.dispatched_at, case.signed_at, case.return_due = unit_code, now, None, None
        case.sign_due = clock.sign_due(now)
        case.handle_due = clock.handle_due(now, case.type)
        data = {"unit": unit_code, "co_units": codes[1:]}
        enqueue(
            session,
            channel="unit",
            recipient=unit_code,
            case_id=case.id,
            kind="dispatch",
            now=now,
            body=f"【12345】新工单 {case.number}：{case.summary}。请于 {_local(ctx, case.sign_due)} 前签收。",
        )
    elif action == "sign":
        case.signed_at = now
        case.return_due = clock.return_due(now)
    elif action == "return":
        if frm == wf.SIGNED and case.return_due is not None and now > case.return_due:
            raise CaseError(
                f"退回期限已过: a signed case can be returned only until {_local(ctx, case.return_due)}", 409
            )
        case.dispatch_due = clock.dispatch_due(now)
        data = {"unit": case.lead_unit}
    elif action == "request_extension":
        if case.extension_count >= ctx.rules.max_extensions:
            raise CaseError(f"延期只能申请{ctx.rules.max_extensions}次: this case was already extended", 409)
    elif action == "approve_extension":
        old = case.handle_due or now
        case.handle_due = clock.extended(old)
        case.extension_count += 1
        data = {"old_due": old.isoformat(), "new_due": case.handle_due.isoformat()}
    elif action in ("reply", "answer"):
        case.answer = note
        if action == "reply":
            case.replied_at = now
        else:
            case.closed_at = now
    elif action == "feedback":
        _sms_citizen(
            session,
            case,
            "feedback",
            f"【12345】您的工单 {case.number} 已办结：{(case.answer or '')[:200]}",
            now,
        )
    elif action == "rate":
        if rating not in (1, 2, 3):
            raise CaseError("rate needs rating 1 (满意), 2 (基本满意) or 3 (不满意)")
        case.rating = rating
        data = {"rating": rating}
    elif action == "close":
        case.closed_at = now
    elif action == "publish":
        case.published = True
    elif action == "transfer":
        if not target_platform or not ctx.has_platform(target_platform):
            raise CaseError(f"transfer needs a known target_platform, got {target_platform!r}")
        if target_platform == case.platform:
            raise CaseError("transfer target is the case's own platform")
        case.transfer_to, case.closed_at = target_platform, now
        data = {"to": target_platform}
    elif action == "merge":
        case.merged_into, case.closed_at = merged_into, now
        data = {"into": merged_into}
    elif action == "remind":
        stage = STAGE_OF_STATE.get(case.status, ("handle", ""))[0]
        session.add(
            CaseReminder(
                case_id=case.id,
                stage=stage,
                kind="manual",
                due_at=now,
                created_at=now,
                created_by=actor.username if actor else "system",
                notified=True,
            )
        )
        enqueue(
            session,
            channel="unit",
            recipient=case.lead_unit or case.platform,
            case_id=case.id,
            kind="reminder",
            now=now,
            body=f"【12345催办】工单 {case.number} 请抓紧办理。{note or ''}",
        )
    case.status = rule.to
    case.updated_at = now
    _set_stage_due(case)
    _warn(case, clock.warnings)
    ev = _audit(case, action, frm, rule.to, actor, note, now, data or None)
    session.add(ev)
    await session.flush()
    return ev


async def record_rating(
    session: AsyncSession,
    case: Case,
    rating: int,
    actor: User | None,
    note: str | None = None,
    *,
    now: datetime | None = None,
    ctx: CaseContext | None = None,
) -> list[CaseEvent]:
    """回访: store the rating; 不满意 (3) reopens the case for the office's review, with the reason."""
    events = [await transition(session, case, "rate", actor, note, now=now, ctx=ctx, rating=rating)]
    if rating == 3:
        reason = "市民不满意，转热线办公室复核" + (f"：{note}" if note else "")
        events.append(await transition(session, case, "reopen", None, reason, now=now, ctx=ctx))
    return events


async def merge(
    session: AsyncSession,
    duplicate: Case,
    target: Case,
    actor: User | None,
    *,
    now: datetime | None = None,
    ctx: CaseContext | None = None,
) -> CaseEvent:
    if duplicate.id == target.id:
        raise CaseError("a case cannot be merged into itself", 409)
    if target.status in wf.TERMINAL:
        raise CaseError(f"target {target.number} is {target.status}; merge into an open case", 409)
    return await transition(
        session,
        duplicate,
        "merge",
        actor,
        f"合并至 {target.number}",
        now=now,
        ctx=ctx,
        merged_into=target.number,
    )


async def find_duplicates(session: AsyncSession, case: Case) -> list[Case]:
    """Open cases from the same phone (other than this one): offered for merging."""
    if not case.citizen_phone:
        return []
    rows = await session.scalars(
        select(Case)
        .where(Case.citizen_phone == case.citizen_phone, Case.id != case.id, Case.status.in_(wf.OPEN))
        .order_by(Case.created_at.desc())
        .limit(10)
    )
    return list(rows)


async def get_by_number(session: AsyncSession, number: str) -> Case | None:
    return await session.scalar(select(Case).where(Case.number == number))


async def events_of(session: AsyncSession, case: Case) -> list[CaseEvent]:
    return list(
        await session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))
    )


def _local(ctx: CaseContext, at: datetime | None) -> str:
    return at.astimezone(ctx.zone).strftime("%Y-%m-%d %H:%M") if at else "-"
