"""Queue messages with the case's own transaction; apply a peer's message to the local mirror of a
case. No commits here (the transition's boundary, or the inbound endpoint, commits).

Who may act on a case: the deployment that serves its platform (or, while a 移交 waits, the one that
serves the receiving platform). Every other deployment that had the case holds a mirror: it applies
the holder's transitions in order (sequence numbers per peer and case) and forwards them to the
other peers it shares the case with, so a prefecture sees each status of a case it handed over
wherever the case went next."""

from __future__ import annotations

import asyncio
import uuid
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cases import events as case_events
from app.cases import workflow as wf
from app.cases.context import CaseContext
from app.cases.models import Case, CaseEvent, CaseHandover
from app.db import utcnow
from app.events import Event
from app.exchange.models import PENDING, ExchangeLink, ExchangeOutbox
from app.exchange.protocol import CaseSnapshot, Message, Transition
from app.exchange.unitpeers import UnitConflict, served_units, take_unit_action, unit_targets
from app.runtime import Key
from app.settings import Settings


class Conflict(Exception):
    """The message cannot be applied to the case as it is here (nothing changed)."""


def snapshot(case: Case) -> CaseSnapshot:
    return CaseSnapshot(
        number=case.number, platform=case.platform, transfer_to=case.transfer_to, status=case.status,
        channel=case.channel, type=case.type, category_code=case.category_code, summary=case.summary,
        detail=case.detail, citizen_name=case.citizen_name, citizen_phone=case.citizen_phone,
        confidential=case.confidential, created_at=case.created_at, answer=case.answer, rating=case.rating,
        dispatch_due=case.dispatch_due, handle_due=case.handle_due, due_at=case.due_at,
        sign_due=case.sign_due, return_due=case.return_due,
        replied_at=case.replied_at, closed_at=case.closed_at,
    )  # fmt: skip


def transition_of(ev: CaseEvent) -> Transition:
    return Transition.model_validate(
        {
            "action": ev.action, "from": ev.from_status, "to": ev.to_status, "note": ev.note,
            "actor": ev.actor_name, "actor_role": ev.actor_role, "at": ev.at, "data": ev.data or {},
        }
    )  # fmt: skip


async def _link(session: AsyncSession, peer: str, number: str, *, lock: bool = False) -> ExchangeLink:
    q = select(ExchangeLink).where(ExchangeLink.peer == peer, ExchangeLink.case_number == number)
    link = await session.scalar(q.with_for_update() if lock else q)
    if link is None:
        link = ExchangeLink(peer=peer, case_number=number, out_seq=0, in_seq=0, created_at=utcnow())
        session.add(link)
        await session.flush()
    return link


async def peers_of(session: AsyncSession, number: str) -> list[str]:
    rows = await session.scalars(
        select(ExchangeLink.peer).where(ExchangeLink.case_number == number).order_by(ExchangeLink.id)
    )
    return list(rows)


async def enqueue(
    session: AsyncSession, node: str, peer: str, case: Case, tr: Transition, now: datetime | None = None
) -> ExchangeOutbox:
    """One message to ``peer`` about ``case``, numbered next in the (peer, case) stream."""
    now = now or utcnow()
    link = await _link(session, peer, case.number)
    link.out_seq += 1
    msg = Message(
        protocol="hotline-exchange/1", message_id=f"{node}:{uuid.uuid4().hex}", sender=node, recipient=peer,
        case_number=case.number, seq=link.out_seq, sent_at=now, kind="transition", transition=tr,
        case=snapshot(case),
    )  # fmt: skip
    row = ExchangeOutbox(
        message_id=msg.message_id, peer=peer, case_number=case.number, seq=link.out_seq,
        body=msg.model_dump_json(by_alias=True), status=PENDING, attempts=0, created_at=now, next_attempt_at=now,
    )  # fmt: skip
    session.add(row)
    return row


class Exchange:
    """This deployment's side of the exchange: the transition listener and the apply logic."""

    def __init__(self, settings: Settings, ctx: CaseContext) -> None:
        self.node = settings.exchange_node
        self.peers = {p.name: p for p in settings.exchange_peers}
        self.ctx = ctx
        self.wake: asyncio.Event | None = None  # set: the delivery worker looks for due messages now
        self.queued = 0  # messages queued by this process so far (a receipt that queued none wakes nobody)
        self.nonces_swept = 0.0  # monotonic time of the last sweep of old nonces
        self.units_of = served_units(settings.exchange_peers)  # unit peers: name -> unit codes
        # the unit peer whose message is being taken: its own action is not sent back to it
        self._origin: ContextVar[str | None] = ContextVar(f"exchange_origin_{id(self)}", default=None)
        # the case events of the request being received (a unit's actions), published after its commit
        self.events: ContextVar[list[Event] | None] = ContextVar(f"exchange_events_{id(self)}", default=None)

    async def on_transition(self, session: AsyncSession, case: Case, ev: CaseEvent) -> None:
        """A local transition: to every platform peer sharing the case, a 移交 to the peer it goes to,
        and to the unit peers serving one of the case's units (a 派单 included)."""
        targets = [x for x in await peers_of(session, case.number) if x not in self.units_of]
        if ev.action == "hand_over":
            to = self.ctx.remote.get(case.transfer_to or "")
            if to is not None and to not in targets:
                targets.append(to)
        origin = self._origin.get()
        targets += [x for x in await unit_targets(session, self.units_of, case, ev) if x != origin]
        tr = transition_of(ev)
        for peer in targets:
            await enqueue(session, self.node, peer, case, tr)
            self.queued += 1

    async def apply(
        self, session: AsyncSession, peer: str, msg: Message, now: datetime | None = None
    ) -> None:
        """Apply one in-order message from ``peer`` to the mirror (creating it on a 移交 to us), then
        forward it to the other peers sharing the case. Raise Conflict (nothing changed) if it does not fit."""
        now = now or utcnow()
        tr, snap = msg.transition, msg.case
        if snap.number != msg.case_number:
            raise Conflict(f"case.number {snap.number} differs from case_number {msg.case_number}")
        case = await session.scalar(select(Case).where(Case.number == msg.case_number))
        if peer in self.units_of:  # a unit's own system acts on a case held here
            if case is None:
                raise Conflict(f"no case {msg.case_number} here")
            token = self._origin.set(peer)
            try:
                ev = await take_unit_action(session, self.ctx, peer, self.units_of[peer], case, msg, now)
            except UnitConflict as e:
                raise Conflict(str(e)) from None
            finally:
                self._origin.reset(token)
            collected = self.events.get()
            if collected is not None:
                collected.append(case_events.of_audit(ev, case))
            return
        if case is None:
            if tr.action != "hand_over":
                raise Conflict(f"no case {msg.case_number} here; the first message about a case is its 移交")
            case = await self._create_mirror(session, peer, msg, now)
        else:
            await self._check_fits(case, peer, tr)
        self._update(case, snap, tr, now)
        await self._handover_rows(session, case, tr, now)
        session.add(
            CaseEvent(
                case_id=case.id, at=tr.at, actor_id=None, actor_name=f"{tr.actor}（{peer}）"[:64],
                actor_role=tr.actor_role[:16], action=tr.action, from_status=tr.from_status,
                to_status=tr.to_status, note=tr.note, data={**tr.data, "via": peer},
            )
        )  # fmt: skip
        await session.flush()
        for other in await peers_of(session, case.number):
            if other != peer:
                await enqueue(session, self.node, other, case, tr, now)
                self.queued += 1
        if tr.action == "hand_over":
            to = self.ctx.remote.get(case.transfer_to or "")
            if to is not None and to != peer and to not in await peers_of(session, case.number):
                await enqueue(session, self.node, to, case, tr, now)
                self.queued += 1

    async def _check_fits(self, case: Case, peer: str, tr: Transition) -> None:
        if case.status != tr.from_status:
            raise Conflict(
                f"case {case.number} is {case.status} here; the message moves it from {tr.from_status}"
            )
        if tr.action in wf.ANNOTATIONS:
            return
        rule = wf.TRANSITIONS.get((tr.from_status, tr.action))
        if rule is None or rule.to != tr.to_status:
            raise Conflict(f"{tr.from_status} --{tr.action}--> {tr.to_status} is not in the transition table")
        holder = self.ctx.held_remotely(case.status, case.platform, case.transfer_to)
        if holder is None:
            raise Conflict(f"case {case.number} is held here ({case.platform}); {peer} cannot move it")

    async def _create_mirror(self, session: AsyncSession, peer: str, msg: Message, now: datetime) -> Case:
        snap, tr = msg.case, msg.transition
        if self.ctx.remote.get(snap.transfer_to or "") is not None or not self.ctx.has_platform(
            snap.transfer_to or ""
        ):
            raise Conflict(f"移交 to {snap.transfer_to!r}, a platform not served here")
        if tr.from_status not in (wf.INTAKE, wf.RETURNED, wf.REOPENED) or tr.to_status != wf.HANDED_OVER:
            raise Conflict(f"a 移交 goes from intake/returned/reopened to handed_over, not {tr.from_status}")
        # the mirror starts at intake: the sender's history before the 移交 stays in its own audit log
        tr.from_status = wf.INTAKE
        case = Case(
            number=snap.number, platform=snap.platform, prefecture=None, channel=snap.channel, type=snap.type,
            category_code=snap.category_code, summary=snap.summary, detail=snap.detail,
            citizen_name=snap.citizen_name, citizen_phone=snap.citizen_phone, confidential=snap.confidential,
            status=wf.INTAKE, extension_count=0, published=False, created_at=snap.created_at, updated_at=now,
        )  # fmt: skip
        session.add(case)
        await session.flush()
        session.add(
            CaseEvent(
                case_id=case.id, at=snap.created_at, actor_id=None, actor_name=f"交换（{peer}）",
                actor_role=wf.SYSTEM, action="create", from_status="", to_status=wf.INTAKE, note=None,
                data={"via": peer, "channel": snap.channel},
            )
        )  # fmt: skip
        return case

    @staticmethod
    def _update(case: Case, snap: CaseSnapshot, tr: Transition, now: datetime) -> None:
        case.status = tr.to_status
        case.platform, case.transfer_to = snap.platform, snap.transfer_to
        case.answer, case.rating = snap.answer, snap.rating
        case.dispatch_due, case.handle_due, case.due_at = snap.dispatch_due, snap.handle_due, snap.due_at
        case.sign_due, case.return_due = snap.sign_due, snap.return_due
        case.replied_at, case.closed_at = snap.replied_at, snap.closed_at
        case.updated_at = now

    @staticmethod
    async def _handover_rows(session: AsyncSession, case: Case, tr: Transition, now: datetime) -> None:
        data: dict[str, Any] = tr.data
        if tr.action == "hand_over":
            session.add(
                CaseHandover(
                    case_id=case.id, from_platform=str(data.get("from", "")), to_platform=str(data.get("to", "")),
                    reason=tr.note or "", state="pending", sent_at=tr.at, sent_by=tr.actor[:64],
                )
            )  # fmt: skip
            return
        state = {"accept_handover": "accepted", "refuse_handover": "returned", "recall_handover": "recalled"}
        if tr.action in state:
            row = await session.scalar(
                select(CaseHandover)
                .where(CaseHandover.case_id == case.id, CaseHandover.state == "pending")
                .order_by(CaseHandover.id.desc())
            )
            if row is not None:
                row.state, row.decided_at, row.decided_by = state[tr.action], tr.at, tr.actor[:64]
                row.decision_note = tr.note if tr.action != "accept_handover" else None


EXCHANGE: Key[Exchange] = Key("exchange")
