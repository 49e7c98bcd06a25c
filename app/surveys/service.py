"""Survey service: schedule a survey when a case's reply is fed back, claim due surveys within the
outbound limit, apply what each call attempt reported. No commits here: the scheduler and the AGI
route commit, then publish the case events returned."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.callbacks import models as sm
from app.cases import events as case_events
from app.cases import service as cases
from app.cases import workflow as wf
from app.cases.models import Case, CaseEvent
from app.db import utcnow
from app.events import Event
from app.surveys import models as m
from app.surveys.models import CallbackTask, Survey, SurveyAttempt
from app.surveys.rules import SurveyRules
from app.surveys.schedule import CallingRules, next_call_time
from ivr.survey import RATING_LABELS

ACTIVE_CALLBACK = (sm.ORIGINATING, sm.DIALING, sm.CONNECTED)


@dataclass
class Claimed:
    survey_id: int
    channel_id: str
    number: str
    platform: str
    case_number: str
    n: int


def _rows(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def schedule_fed_back(
    session: AsyncSession, calling: CallingRules, now: datetime, limit: int = 200
) -> int:
    """A survey for every fed-back case with a phone number that has none yet (idempotent: one
    survey per case); scheduled surveys of cases no longer waiting for a rating are cancelled."""
    rows = (
        await session.execute(
            select(Case.id, Case.number, Case.platform, Case.citizen_phone)
            .outerjoin(Survey, Survey.case_id == Case.id)
            .where(Case.status == wf.FED_BACK, Case.citizen_phone.is_not(None), Survey.id.is_(None))
            .limit(limit)
        )
    ).all()
    first = next_call_time(now, None, 0, calling)
    for case_id, number, platform, phone in rows:
        session.add(
            Survey(
                case_id=case_id,
                case_number=number,
                platform=platform,
                phone=phone,
                status=m.SCHEDULED,
                next_at=first,
                created_at=now,
                updated_at=now,
            )
        )
    stale = select(Case.id).where(Case.status != wf.FED_BACK)
    await session.execute(
        update(Survey)
        .where(Survey.status == m.SCHEDULED, Survey.case_id.in_(stale))
        .values(status=m.CANCELLED, detail="工单已不在待回访状态", updated_at=now, next_at=None)
        .execution_options(synchronize_session=False)
    )
    await session.flush()
    return len(rows)


async def live_outbound(session: AsyncSession, now: datetime) -> dict[str | None, int]:
    """Outbound calls in flight per platform: survey attempts and agents' call-backs."""
    out: dict[str | None, int] = {}
    q1 = (
        select(SurveyAttempt.platform, func.count())
        .where(SurveyAttempt.ended_at.is_(None))  # until Asterisk says the channel is gone
        .group_by(SurveyAttempt.platform)
    )
    q2 = (
        select(sm.Callback.platform, func.count())
        .where(sm.Callback.status.in_(ACTIVE_CALLBACK), sm.Callback.created_at > now - timedelta(hours=1))
        .group_by(sm.Callback.platform)
    )
    for q in (q1, q2):
        for platform, n in (await session.execute(q)).all():
            out[platform] = out.get(platform, 0) + int(n)
    return out


async def claim_due(session: AsyncSession, rules: SurveyRules, now: datetime) -> list[Claimed]:
    """Claims due surveys (a conditional row update each) up to each platform's free outbound slots
    and writes their attempt rows. The caller commits *before* originating."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(12345006)"))  # one claimer at a time
    live = await live_outbound(session, now)
    due = list(
        await session.scalars(
            select(Survey)
            .where(Survey.status == m.SCHEDULED, Survey.next_at <= now)
            .order_by(Survey.next_at, Survey.id)
            .limit(rules.batch)
        )
    )
    claimed: list[Claimed] = []
    for s in due:
        if live.get(s.platform, 0) >= rules.limit_for(s.platform):
            continue
        cid = f"{m.SURVEY_PREFIX}{uuid.uuid4().hex[:16]}"
        res = await session.execute(
            update(Survey)
            .where(Survey.id == s.id, Survey.status == m.SCHEDULED)
            .values(
                status=m.CALLING,
                attempts=Survey.attempts + 1,
                channel_id=cid,
                last_attempt_at=now,
                lease_until=now + timedelta(seconds=rules.lease_s),
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if _rows(res) != 1:
            continue
        await session.refresh(s)
        session.add(
            SurveyAttempt(
                survey_id=s.id,
                n=s.attempts,
                channel_id=cid,
                platform=s.platform,
                started_at=max(now, utcnow()),
            )
        )
        live[s.platform] = live.get(s.platform, 0) + 1
        claimed.append(Claimed(s.id, cid, s.phone, s.platform, s.case_number, s.attempts))
    await session.flush()
    return claimed


async def mark_answered(session: AsyncSession, channel_id: str, now: datetime) -> SurveyAttempt | None:
    att = await session.scalar(select(SurveyAttempt).where(SurveyAttempt.channel_id == channel_id))
    if att is not None and att.outcome == m.DIALING:
        att.outcome, att.answered_at = m.ANSWERED, now
        await session.flush()
    return att


async def finish_attempt(
    session: AsyncSession,
    channel_id: str,
    outcome: str,
    rules: SurveyRules,
    calling: CallingRules,
    now: datetime,
    *,
    rating: int | None = None,
    digits: str | None = None,
    detail: str | None = None,
    only_if: tuple[str, ...] = m.IN_FLIGHT,
    ended: bool = True,
) -> list[Event]:
    """Applies one attempt's result (once: a finished attempt is left alone). A rating is stored on
    the case through the workflow (不满意 reopens it); a failed try is rescheduled, or after the
    last one handed to the agents' call-back list. Returns the events to publish after commit."""
    att = await session.scalar(select(SurveyAttempt).where(SurveyAttempt.channel_id == channel_id))
    if att is None or att.outcome not in only_if or att.outcome not in m.IN_FLIGHT:
        return []
    att.outcome = outcome
    if ended:
        att.ended_at = att.ended_at or now
    att.digits = digits or att.digits
    att.detail = (detail or "")[:255] or None
    survey = await session.get(Survey, att.survey_id)
    if survey is None or survey.channel_id != channel_id or survey.status != m.CALLING:
        await session.flush()
        return []
    survey.lease_until, survey.updated_at = None, now
    events: list[Event] = []
    if outcome == m.RATED and rating is not None:
        survey.status, survey.rating, survey.next_at = m.DONE, rating, None
        case = await session.get(Case, survey.case_id)
        if case is not None and case.status == wf.FED_BACK:
            note = f"电话自动回访：按键 {digits or rating}（{RATING_LABELS[rating]}）"
            evs = await cases.record_rating(session, case, rating, None, note, now=now)
            events = case_events.of_audits(evs, case)
            survey.detail = RATING_LABELS[rating]
        else:
            survey.detail = (
                f"评价 {RATING_LABELS[rating]} 已记录于回访；工单已是 {case.status if case else '-'}"
            )
    else:
        nxt = next_call_time(now, survey.last_attempt_at, survey.attempts, calling)
        label = m.OUTCOME_LABELS.get(outcome, outcome)
        if nxt is None:
            survey.status, survey.next_at = m.HANDED_OVER, None
            survey.detail = f"{survey.attempts} 次回访未成功（最后一次：{label}），转人工回拨"
            session.add(
                CallbackTask(
                    kind=m.SURVEY,
                    ref=str(survey.id),
                    number=survey.phone,
                    platform=survey.platform,
                    case_number=survey.case_number,
                    reason=survey.detail,
                    created_at=now,
                )
            )
            events.append(Event("callback.task", {"kind": m.SURVEY, "platform": survey.platform}))
        else:
            survey.status, survey.next_at = m.SCHEDULED, nxt
            survey.detail = f"第 {survey.attempts} 次：{label}，将重试"
    events.append(
        Event(
            "survey.updated",
            {"id": survey.id, "case": survey.case_number, "status": survey.status, "outcome": outcome},
        )
    )
    await session.flush()
    return events


async def mark_ended(session: AsyncSession, channel_id: str, now: datetime) -> bool:
    """The call's channel is gone (its Hangup): its outbound slot is free."""
    res = await session.execute(
        update(SurveyAttempt)
        .where(SurveyAttempt.channel_id == channel_id, SurveyAttempt.ended_at.is_(None))
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )
    return _rows(res) == 1


async def expire_leases(
    session: AsyncSession, rules: SurveyRules, calling: CallingRules, now: datetime
) -> list[Event]:
    """Attempts nobody reported back on within the lease (lost events, a crash mid-call) fail."""
    cids = list(
        await session.scalars(
            select(Survey.channel_id).where(Survey.status == m.CALLING, Survey.lease_until < now)
        )
    )
    out: list[Event] = []
    for cid in cids:
        if cid:
            out += await finish_attempt(session, cid, m.FAILED, rules, calling, now, detail="呼叫结果未返回")
    # a Hangup never seen (AMI down at that moment): the slot is freed after the lease
    await session.execute(
        update(SurveyAttempt)
        .where(
            SurveyAttempt.ended_at.is_(None),
            SurveyAttempt.started_at < now - timedelta(seconds=rules.lease_s),
        )
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )
    return out


async def satisfaction(
    session: AsyncSession, start: datetime, end: datetime, platform: str | None
) -> dict[str, Any]:
    """满意率 over the ratings given in [start, end): (满意 + 基本满意) / rated."""
    q = (
        select(Case.rating, func.count())
        .select_from(CaseEvent)
        .join(Case, Case.id == CaseEvent.case_id)
        .where(CaseEvent.action == "rate", CaseEvent.at >= start, CaseEvent.at < end)
        .group_by(Case.rating)
    )
    if platform is not None:
        q = q.where(Case.platform == platform)
    counts = {1: 0, 2: 0, 3: 0}
    for rating, n in (await session.execute(q)).all():
        if rating in counts:
            counts[rating] += int(n)
    rated = sum(counts.values())
    return {
        "rated": rated,
        "satisfied": counts[1],
        "basically_satisfied": counts[2],
        "dissatisfied": counts[3],
        "rate": round((counts[1] + counts[2]) / rated, 4) if rated else None,
    }
