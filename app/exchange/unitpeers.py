"""Units as peers: a department's or utility's own system reached over the exchange protocol instead
of (or beside) our unit pages (docs/exchange/README.md §7). No commits.

The case stays held here: the unit's system never holds a mirror it may move. A 派单 to a unit a peer
serves goes out as a message like any transition, and so does everything after it while the unit is
still on the case (催办/督办, 延期 decisions, 退回重办 …). What the unit's system sends back — 签收,
退回, 办理进展, 申请延期, 办结答复 — is taken here through the case service exactly as a unit user's
click on our pages would be (the same table, guards, deadlines and effects), as that unit, and its
case.transition event is published after the commit as for that click."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Role, User
from app.cases import service as cases
from app.cases import workflow as wf
from app.cases.context import CaseContext
from app.cases.effects import CaseError
from app.cases.models import Case, CaseEvent
from app.exchange.protocol import Message
from app.settings import ExchangePeer

#: what a unit's system may send: the unit actions of the transition table
UNIT_ACTIONS = tuple(sorted({a for (_, a), r in wf.TRANSITIONS.items() if wf.UNIT in r.roles}))


class UnitConflict(Exception):
    """The unit's message does not fit the case here (nothing changed)."""


def served_units(peers: list[ExchangePeer]) -> dict[str, set[str]]:
    """peer name -> the unit codes whose own system it is (only peers that serve units)."""
    return {p.name: set(p.units) for p in peers if p.units}


async def case_units(session: AsyncSession, case: Case) -> list[str]:
    """The case's units now: the lead first, then the co-units (none before a 派单)."""
    if case.lead_unit is None:
        return []
    return [case.lead_unit, *[c for c in await cases.unit_codes(session, case) if c != case.lead_unit]]


async def unit_targets(
    session: AsyncSession, units_of: dict[str, set[str]], case: Case, ev: CaseEvent
) -> list[str]:
    """The unit peers a local transition goes to: those serving one of the case's units, unless the
    unit gave the case back (退回: it is the office's again until the next 派单)."""
    if not units_of or case.lead_unit is None:
        return []
    if case.status == wf.RETURNED and ev.action != "return":
        return []
    on_case = set(await case_units(session, case))
    return [peer for peer, units in units_of.items() if units & on_case]


async def take_unit_action(
    session: AsyncSession,
    ctx: CaseContext,
    peer: str,
    units: set[str],
    case: Case,
    msg: Message,
    now: datetime,
) -> CaseEvent:
    """The unit's system acts on ``case`` through the case service, as the unit it names (``data.unit``)
    or else the one of its units that is on the case (the lead first)."""
    tr = msg.transition
    if tr.action not in UNIT_ACTIONS:
        raise UnitConflict(f"a unit's system may send {', '.join(UNIT_ACTIONS)}, not {tr.action!r}")
    on_case = await case_units(session, case)
    asked = str(tr.data.get("unit") or "")
    mine = [u for u in on_case if u in units]
    if asked and asked not in mine:
        raise UnitConflict(f"unit {asked!r} is not on case {case.number} or not served by {peer}")
    if not mine:
        raise UnitConflict(f"case {case.number} is not dispatched to a unit {peer} serves")
    if case.status != tr.from_status:
        raise UnitConflict(
            f"case {case.number} is {case.status} here; the message moves it from {tr.from_status}"
        )
    actor = User(
        username=peer, display_name=f"{tr.actor}（{peer}）"[:64], role=Role.unit, platform=case.platform,
        unit_code=asked or mine[0], active=True,
    )  # fmt: skip
    try:
        ev = await cases.transition(session, case, tr.action, actor, tr.note, now=now, ctx=ctx)
    except (wf.IllegalTransition, CaseError) as e:
        raise UnitConflict(str(e)) from None
    if ev.to_status != tr.to_status:
        raise UnitConflict(f"{tr.action} takes case {case.number} to {ev.to_status} here, not {tr.to_status}")
    return ev
