"""One entry for every channel: ``receive`` turns an inbound message into a case (routed to the
platform of the citizen's place or number) or joins it to the same citizen's open case on the same
matter. Idempotent per (channel, external id). No commits: the channel's boundary commits and
publishes ``Received.events``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from difflib import SequenceMatcher

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases import events as case_events
from app.cases import workflow as wf
from app.cases.context import CaseContext, current
from app.cases.masking import normalise_phone
from app.cases.models import Case
from app.cases.schemas import CaseCreate
from app.cases.service import add_follow_up, create_case, get_by_number
from app.db import utcnow
from app.events import Event
from app.intake import events as intake_events
from app.intake.models import CREATED, JOINED, IntakeMessage
from app.outbox.models import OutboxMessage
from callflow import resolve_place, resolve_region

#: an open case of the same citizen within this window and at least this similar is the same matter
DEDUP_WINDOW = timedelta(days=30)
DEDUP_SIMILARITY = 0.6
_SPACE = re.compile(r"[\s\u3000]+")
_PUNCT = re.compile(r"[，。！？、；：,.!?;:\"'“”‘’（）()【】\[\]<>《》…—\-]+")


@dataclass
class Inbound:
    channel: str  # sms | email | web | wechat | weibo | app | open311
    external_id: str  # the channel's own id of this message (re-deliveries carry the same)
    sender: str  # the citizen's address on the channel
    text: str
    phone: str | None = None
    name: str | None = None
    subject: str | None = None
    place: str | None = None
    type: str = "help"
    category_code: str | None = None
    join_number: str | None = None  # the case the message says it belongs to (a reply to our receipt)
    platform: str | None = None  # the platform that received it, when the channel knows it
    note: str | None = None  # what the channel cleaned or dropped (kept with the message)


@dataclass
class Received:
    message: IntakeMessage
    case: Case | None
    created: bool
    repeated: bool = False  # the same message delivered again: nothing new was done
    events: list[Event] = field(default_factory=list)


def _norm(text: str) -> str:
    return _PUNCT.sub("", _SPACE.sub("", text)).lower()[:600]


def similarity(a: str, b: str) -> float:
    """How alike two texts are (0..1), ignoring spaces and punctuation; containment counts as 1."""
    na, nb = _norm(a), _norm(b)
    if not na or not nb:
        return 0.0
    if len(na) >= 4 and len(nb) >= 4 and (na in nb or nb in na):
        return 1.0
    return SequenceMatcher(None, na, nb, autojunk=False).ratio()


def summary_of(subject: str | None, text: str) -> str:
    s = _SPACE.sub(" ", (subject or "").strip())
    if not s:
        first = re.split(r"[。！？!?\n]", text.strip(), maxsplit=1)[0]
        s = _SPACE.sub(" ", first).strip() or "（无正文）"
    return s[:60]


def route(ctx: CaseContext, place: str | None, phone: str | None, text: str = "") -> tuple[str, str | None]:
    """(platform, prefecture) for a message: the place it names (else one place its text names), else
    the citizen's number's region (the same region routing calls use), else the provincial platform."""
    prefecture = (
        resolve_place(place, ctx.config)
        or resolve_place(text, ctx.config)
        or (resolve_region(phone, None, ctx.config).prefecture if phone else None)
    )
    return (prefecture or ctx.provincial), prefecture


async def _same_citizen_cases(
    session: AsyncSession, inbound: Inbound, phone: str | None, now: datetime
) -> list[Case]:
    ids = select(IntakeMessage.case_id).where(
        IntakeMessage.channel == inbound.channel,
        IntakeMessage.sender == inbound.sender,
        IntakeMessage.case_id.is_not(None),
    )
    who: list[ColumnElement[bool]] = [Case.id.in_(ids)]
    if phone:
        who.append(Case.citizen_phone == phone)
    rows = await session.scalars(
        select(Case)
        .where(or_(*who), Case.status.in_(wf.OPEN), Case.created_at >= now - DEDUP_WINDOW)
        .order_by(Case.created_at.desc())
        .limit(20)
    )
    return list(rows)


async def _belongs_to(session: AsyncSession, case: Case, inbound: Inbound, phone: str | None) -> bool:
    """A message naming a case joins it only when it comes from that case's citizen."""
    if phone and case.citizen_phone == phone:
        return True
    found = await session.scalar(
        select(IntakeMessage.id).where(
            IntakeMessage.case_id == case.id,
            IntakeMessage.channel == inbound.channel,
            IntakeMessage.sender == inbound.sender,
        )
    )
    if found is None and inbound.channel == "email":  # we mailed this address about this case
        found = await session.scalar(
            select(OutboxMessage.id).where(
                OutboxMessage.case_id == case.id,
                OutboxMessage.channel == "email",
                OutboxMessage.recipient == inbound.sender,
            )
        )
    return found is not None


async def find_open_match(
    session: AsyncSession, inbound: Inbound, phone: str | None, now: datetime
) -> tuple[Case | None, str]:
    if inbound.join_number:
        case = await get_by_number(session, inbound.join_number)
        if case is not None and case.status in wf.OPEN and await _belongs_to(session, case, inbound, phone):
            return case, f"reply to {case.number}"
    best, score = None, 0.0
    for case in await _same_citizen_cases(session, inbound, phone, now):
        s = similarity(f"{inbound.subject or ''}{inbound.text}", f"{case.summary}{case.detail}")
        if s > score:
            best, score = case, s
    if best is not None and score >= DEDUP_SIMILARITY:
        return best, f"same citizen, open case {best.number}, similarity {score:.2f}"
    return None, ""


async def receive(
    session: AsyncSession, inbound: Inbound, *, ctx: CaseContext | None = None, now: datetime | None = None
) -> Received:
    ctx = current(ctx)
    now = now or utcnow()
    seen = await session.scalar(
        select(IntakeMessage).where(
            IntakeMessage.channel == inbound.channel, IntakeMessage.external_id == inbound.external_id
        )
    )
    if seen is not None:
        case = await session.get(Case, seen.case_id) if seen.case_id else None
        return Received(seen, case, created=False, repeated=True)
    phone = normalise_phone((inbound.phone or "").strip() or None)
    msg = IntakeMessage(
        channel=inbound.channel, external_id=inbound.external_id[:255], sender=inbound.sender[:255],
        phone=phone, subject=(inbound.subject or None) and inbound.subject[:255], text=inbound.text,
        place=(inbound.place or None) and inbound.place[:255], received_at=now, note=inbound.note,
    )  # fmt: skip
    match, why = await find_open_match(session, inbound, phone, now)
    events: list[Event] = []
    if match is not None:
        msg.case_id, msg.outcome = match.id, JOINED
        msg.note = "; ".join(x for x in (inbound.note, why) if x)
        events += await add_follow_up(
            session, match, text=inbound.text, channel=inbound.channel, actor=f"citizen:{inbound.channel}",
            data={"reason": why}, now=now,
        )  # fmt: skip
        case, created = match, False
    else:
        platform, prefecture = route(ctx, inbound.place, phone, f"{inbound.subject or ''} {inbound.text}")
        if inbound.platform and ctx.has_platform(inbound.platform):
            platform = inbound.platform
        detail = inbound.text + (f"\n\n地点：{inbound.place}" if inbound.place else "")
        case = await create_case(
            session,
            CaseCreate(
                channel=inbound.channel, type=inbound.type, category_code=inbound.category_code,  # type: ignore[arg-type]
                summary=summary_of(inbound.subject, inbound.text), detail=detail[:20000],
                citizen_name=inbound.name, citizen_phone=phone, platform=platform, prefecture=prefecture,
            ),
            None, now=now, ctx=ctx,
        )  # fmt: skip
        msg.case_id, msg.outcome = case.id, CREATED
        events.append(case_events.created(case))
        created = True
    session.add(msg)
    await session.flush()
    events.append(intake_events.received(msg, case.number))
    return Received(msg, case, created=created, events=events)
