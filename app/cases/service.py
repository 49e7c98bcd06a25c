"""Case service: intake, transitions (interpreting workflow.TRANSITIONS: guards and effects named there
live in app.cases.effects), transcripts, ratings, merging.
No commits here: the caller (HTTP route, AGI handler, scheduler) commits, then publishes events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Role, User
from app.auth.service import sees_platform
from app.calls.models import Call
from app.cases import events as case_events
from app.cases import workflow as wf
from app.cases.context import CaseContext, current
from app.cases.deadlines import STAGE_OF_STATE
from app.cases.effects import EFFECTS, GUARDS, CaseError, Step, sms_citizen
from app.cases.effects import unit_codes as unit_codes
from app.cases.masking import normalise_phone
from app.cases.models import Case, CaseEvent
from app.cases.numbering import next_number
from app.cases.queries import side_of
from app.cases.schemas import CaseCreate
from app.db import utcnow
from app.events import Event

IllegalTransition = wf.IllegalTransition


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
    platform = data.platform or (actor.platform if actor is not None else None) or ctx.provincial
    if not ctx.has_platform(platform):
        raise CaseError(f"未知平台 {platform!r}")
    if actor is not None and not sees_platform(actor, platform):
        raise CaseError(
            f"{actor.username} 属于 {actor.platform}，不能为 {platform} 受理工单；"
            "请在本平台受理后转办",
            403,
        )
    if data.category_code and data.category_code not in ctx.rules.category_names():
        raise CaseError(f"未知分类 {data.category_code!r}")
    clock = ctx.clock()
    number = await next_number(session, ctx.prefix(platform), now.astimezone(ctx.zone).date())
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
    if data.call_uniqueid:  # the case follows the call's source hotline (并号/分线)
        case.source_hotline = await session.scalar(
            select(Call.source_hotline).where(Call.uniqueid == data.call_uniqueid)
        )
    case.dispatch_due = clock.dispatch_due(now)
    _set_stage_due(case)
    _warn(case, clock.warnings)
    session.add(case)
    await session.flush()
    session.add(_audit(case, "create", "", wf.INTAKE, actor, None, now, {"channel": data.channel}))
    sms_citizen(
        session,
        case,
        "receipt",
        f"【12345】您反映的问题已受理，工单号 {case.number}，可凭工单号查询办理进度。",
        now,
    )
    await session.flush()
    return case


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
    article: dict[str, Any] | None = None,
) -> CaseEvent:
    """Apply one action through the transition table: the rule's guards, then its effects, then the
    status and the audit row. Raise IllegalTransition or CaseError, and then nothing has changed."""
    ctx = current(ctx)
    note = (note or "").strip() or None
    rule = wf.step(case.status, action, actor_role(actor), note)
    peer = ctx.held_remotely(case.status, case.platform, case.transfer_to)
    if peer is not None:
        raise IllegalTransition(f"工单 {case.number} 由对接平台 {peer} 办理，本系统只同步其状态", forbidden=True)
    side = side_of(actor, case)
    if actor is not None and actor.role is not Role.unit and not wf.side_may(rule, side):
        if side == wf.WATCHER:
            raise IllegalTransition(
                f"工单 {case.number} 已移交 {case.platform}：{actor.platform} 只能查看其办理进度", forbidden=True
            )
        raise IllegalTransition(
            f"{rule.label}（{action}）由{'接收平台' if side == wf.OWNER else '工单所属平台'}操作", forbidden=True
        )
    st = Step(
        session, case, action, actor, note, now or utcnow(), ctx, ctx.clock(),
        unit_code=unit_code, co_units=tuple(co_units), target_platform=target_platform, rating=rating,
        merged_into=merged_into, article=article,
    )  # fmt: skip
    for name in rule.guards:
        await GUARDS[name](st)
    frm = case.status
    for name in rule.effects:
        await EFFECTS[name](st)
    case.status = rule.to
    case.updated_at = st.now
    _set_stage_due(case)
    _warn(case, st.clock.warnings)
    ev = _audit(case, action, frm, rule.to, actor, note, st.now, st.data or None)
    session.add(ev)
    await session.flush()
    for listener in ctx.listeners:
        await listener(session, case, ev)
    return ev


async def attach_transcript(
    session: AsyncSession,
    case: Case,
    *,
    text: str,
    summary: str,
    actor: str = "system:transcription",
    now: datetime | None = None,
) -> list[Event]:
    """A voicemail's transcript (or the reason there is none) becomes the case's summary and detail.

    Writes an audit row (annotation ``transcript``: the status does not change) and returns the
    ``case.updated`` event for the boundary to publish after its commit."""
    now = now or utcnow()
    old = case.summary
    case.summary, case.detail, case.updated_at = summary[:255], text[:20000], now
    ev = CaseEvent(
        case_id=case.id,
        at=now,
        actor_id=None,
        actor_name=actor[:64],
        actor_role=wf.SYSTEM,
        action="transcript",
        from_status=case.status,
        to_status=case.status,
        note=None,
        data={"old_summary": old, "summary": case.summary, "chars": len(text)},
    )
    session.add(ev)
    await session.flush()
    return [case_events.updated(ev, case)]


async def add_follow_up(
    session: AsyncSession,
    case: Case,
    *,
    text: str,
    channel: str,
    actor: str,
    data: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> list[Event]:
    """A citizen's further message on an open case (a reply to our acknowledgement, the same matter
    sent again on any channel): appended to the detail and audited as the annotation ``follow_up``
    (the status does not change). Returns the ``case.updated`` event for the boundary to publish."""
    now = now or utcnow()
    added = f"\n\n【市民补充·{channel}】{text}"
    case.detail = (case.detail + added)[:20000]
    case.updated_at = now
    ev = CaseEvent(
        case_id=case.id, at=now, actor_id=None, actor_name=actor[:64], actor_role=wf.SYSTEM,
        action="follow_up", from_status=case.status, to_status=case.status, note=text[:2000],
        data={"channel": channel, **(data or {})},
    )  # fmt: skip
    session.add(ev)
    await session.flush()
    return [case_events.updated(ev, case)]


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
        raise CaseError("工单不能合并到自身", 409)
    if target.status in wf.TERMINAL:
        raise CaseError(f"目标工单 {target.number} 状态为 {target.status}，只能合并到未办结的工单", 409)
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
