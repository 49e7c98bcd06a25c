"""The guards and effects the transition table names (``Rule.guards`` / ``Rule.effects`` in
:mod:`app.cases.workflow`). Small async functions of one :class:`Step`; the service runs every guard
before any effect, so a refused action changes nothing. Guards raise :class:`CaseError` or
``IllegalTransition``; effects change the case (and may queue outbox messages or add rows) and put
what the audit row should record into ``step.data``. No commits here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Role, User
from app.cases import workflow as wf
from app.cases.context import CaseContext
from app.cases.deadlines import STAGE_OF_STATE, Clock
from app.cases.models import Case, CaseHandover, CaseReminder, CaseUnit
from app.outbox.models import OutboxMessage
from app.outbox.service import enqueue
from app.units.service import UnitError, require_active_unit


class CaseError(Exception):
    """A refused case operation: ``status`` is the HTTP status the boundary should answer."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Step:
    """One action being applied: the case, who, when, the action's parameters, and the audit data."""

    session: AsyncSession
    case: Case
    action: str
    actor: User | None
    note: str | None
    now: datetime
    ctx: CaseContext
    clock: Clock
    unit_code: str | None = None
    co_units: tuple[str, ...] = ()
    target_platform: str | None = None
    rating: int | None = None
    merged_into: str | None = None
    article: dict[str, Any] | None = None  # answer_kb: the cited article (id, title, version)
    co_of_case: list[str] | None = None  # loaded on demand by the unit guards
    data: dict[str, Any] = field(default_factory=dict)


def local(ctx: CaseContext, at: datetime | None) -> str:
    return at.astimezone(ctx.zone).strftime("%Y-%m-%d %H:%M") if at else "-"


def sms_citizen(session: AsyncSession, case: Case, kind: str, body: str, now: datetime) -> None:
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


async def unit_codes(session: AsyncSession, case: Case) -> list[str]:
    """The case's co-units (not the lead)."""
    if case.lead_unit is None:
        return []  # never dispatched: no units
    rows = await session.scalars(
        select(CaseUnit.unit_code).where(CaseUnit.case_id == case.id, CaseUnit.role == "co")
    )
    return list(rows)


# --- guards -----------------------------------------------------------------------------------


async def _unit_guard(s: Step, name: str) -> None:
    actor, case = s.actor, s.case
    if actor is None or actor.role is not Role.unit or actor.unit_code == case.lead_unit:
        return
    if s.co_of_case is None:
        s.co_of_case = await unit_codes(s.session, case)
    relation = wf.CO if actor.unit_code in s.co_of_case else wf.OTHER
    if relation not in wf.UNIT_GUARDS[name]:
        raise wf.IllegalTransition(
            f"只有主办单位（{case.lead_unit}）可以{wf.ACTION_LABELS.get(s.action, s.action)}（{s.action}）", forbidden=True
        )


async def lead_unit(s: Step) -> None:
    await _unit_guard(s, "lead_unit")


async def lead_or_co_unit(s: Step) -> None:
    await _unit_guard(s, "lead_or_co_unit")


async def units_active_in_platform(s: Step) -> None:
    if not s.unit_code:
        raise CaseError("派单须指定主办单位（unit_code）")
    for code in _dispatch_codes(s):
        try:
            unit = await require_active_unit(s.session, code)
        except UnitError as e:
            raise CaseError(str(e)) from None
        if unit.platform != s.case.platform:
            raise CaseError(
                f"单位 {code} 属于 {unit.platform}，工单属于 {s.case.platform}；请先转办"
            )


async def return_window(s: Step) -> None:
    case = s.case
    if s.case.status == wf.SIGNED and case.return_due is not None and s.now > case.return_due:
        raise CaseError(
            f"退回期限已过：已签收的工单只能在 {local(s.ctx, case.return_due)} 前退回", 409
        )


async def extensions_left(s: Step) -> None:
    if s.case.extension_count >= s.ctx.rules.max_extensions:
        raise CaseError(f"延期只能申请{s.ctx.rules.max_extensions}次: this case was already extended", 409)


async def transfer_target(s: Step) -> None:
    target = s.target_platform
    if not target or not s.ctx.has_platform(target):
        raise CaseError(f"转办须指定已知的目标平台（target_platform），收到 {target!r}")
    if target == s.case.platform:
        raise CaseError("转办目标是工单所在的平台")


async def handover_target(s: Step) -> None:
    """移交 goes to another platform of this deployment: a prefecture hands to the province, the province
    to a prefecture (matters between two prefectures go through the province)."""
    target, own = s.target_platform, s.case.platform
    if not target or not s.ctx.has_platform(target):
        raise CaseError(f"移交需要指定接收平台 (target_platform), got {target!r}")
    if target == own:
        raise CaseError("不能移交给本平台")
    if s.ctx.provincial not in (target, own):
        raise CaseError(f"州市之间的移交经省平台: hand {own}'s case to {s.ctx.provincial}")
    if s.ctx.local is not None and target not in s.ctx.local and target not in s.ctx.remote:
        raise CaseError(f"没有对接平台服务 {target}：请在 exchange_peers 中配置", 409)


async def receiving_platform(s: Step) -> None:
    """Only the platform a 移交 waits at (or an administrator) accepts or returns it."""
    actor, target = s.actor, s.case.transfer_to
    if actor is not None and actor.role is not Role.admin and actor.platform != target:
        raise wf.IllegalTransition(f"只有接收平台（{target}）可以接收或退回此移交", forbidden=True)


async def local_receiver(s: Step) -> None:
    """A 移交 to another deployment cannot be recalled: the peer may be accepting it meanwhile."""
    peer = s.ctx.held_remotely(wf.HANDED_OVER, s.case.platform, s.case.transfer_to)
    if peer is not None:
        raise CaseError(f"移交至对接平台 {peer} 的工单不能撤回，请对方退回", 409)


async def rating_given(s: Step) -> None:
    if s.rating not in (1, 2, 3):
        raise CaseError("rate needs rating 1 (满意), 2 (基本满意) or 3 (不满意)")


# --- effects ----------------------------------------------------------------------------------


def _dispatch_codes(s: Step) -> list[str]:
    lead = s.unit_code or ""
    return [lead, *[c for c in dict.fromkeys(s.co_units) if c != lead]]


async def assign_units(s: Step) -> None:
    case, now, codes = s.case, s.now, _dispatch_codes(s)
    await s.session.execute(delete(CaseUnit).where(CaseUnit.case_id == case.id))
    s.session.add_all(
        [CaseUnit(case_id=case.id, unit_code=c, role="lead" if i == 0 else "co") for i, c in enumerate(codes)]
    )
    case.lead_unit, case.dispatched_at, case.signed_at, case.return_due = codes[0], now, None, None
    case.sign_due = s.clock.sign_due(now)
    case.handle_due = s.clock.handle_due(now, case.type)
    s.data.update({"unit": codes[0], "co_units": codes[1:]})


async def notify_lead_unit(s: Step) -> None:
    case = s.case
    enqueue(
        s.session,
        channel="unit",
        recipient=case.lead_unit or "",
        case_id=case.id,
        kind="dispatch",
        now=s.now,
        body=f"【12345】新工单 {case.number}：{case.summary}。请于 {local(s.ctx, case.sign_due)} 前签收。",
    )


async def mark_signed(s: Step) -> None:
    s.case.signed_at = s.now
    s.case.return_due = s.clock.return_due(s.now)


async def back_to_dispatch(s: Step) -> None:
    s.case.dispatch_due = s.clock.dispatch_due(s.now)
    s.data.update({"unit": s.case.lead_unit})


async def extend_handle_due(s: Step) -> None:
    case = s.case
    old = case.handle_due or s.now
    case.handle_due = s.clock.extended(old)
    case.extension_count += 1
    s.data.update({"old_due": old.isoformat(), "new_due": case.handle_due.isoformat()})


async def cites_article(s: Step) -> None:
    if not s.article or not s.article.get("id"):
        raise CaseError("知识库直接答复 needs the cited article (POST /api/kb/articles/{id}/answer)")


async def store_citation(s: Step) -> None:
    a = s.article or {}
    s.data.update({"article": {"id": a.get("id"), "title": a.get("title"), "version": a.get("version")}})


async def store_answer(s: Step) -> None:
    s.case.answer = s.note


async def mark_replied(s: Step) -> None:
    s.case.replied_at = s.now


async def mark_closed(s: Step) -> None:
    s.case.closed_at = s.now


async def _mail_answer(s: Step, kind: str) -> None:
    """The answer by e-mail to every address that got the case's e-mail acknowledgement (a case that
    came by mail, or a web form that gave an address)."""
    case = s.case
    mailed = await s.session.scalars(
        select(OutboxMessage.recipient).distinct().where(
            OutboxMessage.case_id == case.id, OutboxMessage.channel == "email", OutboxMessage.kind == "receipt"
        )
    )
    for address in list(mailed):
        enqueue(
            s.session, channel="email", recipient=address, case_id=case.id, kind=kind, now=s.now,
            subject=f"【12345】您的工单 {case.number} 已答复",
            body=f"您好：\n\n您的工单 {case.number} 已办结，答复如下：\n\n{case.answer or ''}\n\n"
            "感谢您对 12345 热线的支持。",
        )  # fmt: skip


async def sms_feedback(s: Step) -> None:
    """反馈市民: the answer by SMS to the case's phone, and by e-mail (``_mail_answer``)."""
    case = s.case
    body = f"【12345】您的工单 {case.number} 已办结：{(case.answer or '')[:200]}"
    sms_citizen(s.session, case, "feedback", body, s.now)
    await _mail_answer(s, "feedback")


async def mail_answer(s: Step) -> None:
    """直接答复 of a case that came in writing: a caller heard the answer on the call; a citizen who
    wrote gets it by e-mail (no SMS: the receipt SMS already went to a caller's phone)."""
    await _mail_answer(s, "answer")


async def store_rating(s: Step) -> None:
    s.case.rating = s.rating
    s.data.update({"rating": s.rating})


async def mark_published(s: Step) -> None:
    s.case.published = True


async def transfer_out(s: Step) -> None:
    s.case.transfer_to = s.target_platform
    s.data.update({"to": s.target_platform})


def _who(s: Step) -> str:
    return s.actor.username if s.actor is not None else "system"


async def _pending_handover(s: Step) -> CaseHandover:
    row = await s.session.scalar(
        select(CaseHandover)
        .where(CaseHandover.case_id == s.case.id, CaseHandover.state == "pending")
        .order_by(CaseHandover.id.desc())
    )
    if row is None:  # a handed_over case always has its pending row (written by send_handover)
        raise CaseError(f"工单 {s.case.number} 没有待处理的交接", 409)
    return row


async def send_handover(s: Step) -> None:
    case = s.case
    case.transfer_to = s.target_platform
    s.session.add(
        CaseHandover(
            case_id=case.id, from_platform=case.platform, to_platform=s.target_platform or "",
            reason=s.note or "", state="pending", sent_at=s.now, sent_by=_who(s),
        )
    )  # fmt: skip
    s.data.update({"from": case.platform, "to": s.target_platform})


async def take_over(s: Step) -> None:
    """接收: the case becomes the receiver's (number and history kept); its units are cleared and its
    deadlines start again from the acceptance (dispatch by the receiver's rules)."""
    case, row = s.case, await _pending_handover(s)
    row.state, row.decided_at, row.decided_by = "accepted", s.now, _who(s)
    await s.session.execute(delete(CaseUnit).where(CaseUnit.case_id == case.id))
    case.platform, case.transfer_to, case.lead_unit = row.to_platform, None, None
    case.sign_due = case.return_due = case.handle_due = case.dispatched_at = case.signed_at = None
    case.dispatch_due = s.clock.dispatch_due(s.now)
    s.data.update({"from": row.from_platform, "to": row.to_platform, "dispatch_due": case.dispatch_due.isoformat()})


async def _back_to_sender(s: Step, state: str) -> None:
    case, row = s.case, await _pending_handover(s)
    row.state, row.decided_at, row.decided_by, row.decision_note = state, s.now, _who(s), s.note
    case.transfer_to = None
    case.dispatch_due = s.clock.dispatch_due(s.now)
    s.data.update({"from": row.from_platform, "to": row.to_platform})


async def handover_refused(s: Step) -> None:
    await _back_to_sender(s, "returned")


async def handover_recalled(s: Step) -> None:
    await _back_to_sender(s, "recalled")


async def merge_into(s: Step) -> None:
    s.case.merged_into = s.merged_into
    s.data.update({"into": s.merged_into})


async def add_reminder(s: Step) -> None:
    stage = STAGE_OF_STATE.get(s.case.status, ("handle", ""))[0]
    s.session.add(
        CaseReminder(
            case_id=s.case.id,
            stage=stage,
            kind="manual",
            due_at=s.now,
            created_at=s.now,
            created_by=s.actor.username if s.actor else "system",
            notified=True,
        )
    )


async def notify_reminder(s: Step) -> None:
    case = s.case
    enqueue(
        s.session,
        channel="unit",
        recipient=case.lead_unit or case.platform,
        case_id=case.id,
        kind="reminder",
        now=s.now,
        body=f"【12345催办】工单 {case.number} 请抓紧办理。{s.note or ''}",
    )


Fn = Callable[[Step], Awaitable[None]]
GUARDS: dict[str, Fn] = {
    f.__name__: f
    for f in (lead_unit, lead_or_co_unit, units_active_in_platform, return_window, extensions_left,
              transfer_target, handover_target, receiving_platform, local_receiver, rating_given, cites_article)
}  # fmt: skip
EFFECTS: dict[str, Fn] = {
    f.__name__: f
    for f in (assign_units, notify_lead_unit, mark_signed, back_to_dispatch, extend_handle_due, store_answer,
              mark_replied, mark_closed, sms_feedback, mail_answer, store_rating, mark_published, transfer_out,
              merge_into, add_reminder, notify_reminder, send_handover, take_over, handover_refused,
              handover_recalled, store_citation)
}  # fmt: skip
