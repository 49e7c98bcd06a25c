"""Events published after commit, and the background scheduler (a STARTERS entry) doing the sweep."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.auth.models import User
from app.cases import service
from app.cases.context import of_runtime
from app.cases.models import Case, CaseReminder
from app.cases.schemas import CaseCreate
from app.outbox.models import OutboxMessage
from tests.conftest import make_settings, running_app
from tests.integration.test_cases_helpers import local, seed, world, write_rules
from tests.waiting import wait_until


async def test_case_events_are_published_after_commit(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        seen = []

        async def on_event(ev):
            async with w.session() as s:  # committed: another session can read it
                case = await s.scalar(select(Case).where(Case.number == ev.data["number"]))
                seen.append((ev.topic, ev.data.get("to"), case.status if case else None))

        w.runtime.hub.subscribe("case.", on_event)
        n = (await w.create(call_uniqueid="1700000000.42"))["case"]["number"]
        await w.act("km.agent", n, "dispatch", unit_code="km-water")
        await w.act("water.h", n, "sign", expect=200)
        await w.act("water.h", n, "sign", expect=409)  # refused: no event
        assert seen == [
            ("case.created", None, "intake"),
            ("case.transition", "dispatched", "dispatched"),
            ("case.transition", "signed", "signed"),
        ]


# The clock is pinned (time_machine, ticking from there) to days chosen for the calendar. A case
# dispatched 5 days earlier and not signed is overdue (2 working hours to sign) unless those 5 days were
# a holiday; one dispatched 30 days earlier always is, and shows that the sweep has run.
SWEEP_DAYS = [
    pytest.param(local(2026, 11, 26, 10, 0), True, id="ordinary-thursday"),
    pytest.param(local(2026, 2, 13, 10, 0), True, id="eve-of-spring-festival"),
    pytest.param(local(2026, 2, 28, 10, 0), True, id="tiaoxiu-saturday"),  # sign was due Tue 24 Feb
    pytest.param(local(2026, 2, 24, 10, 0), False, id="first-day-after-spring-festival"),  # due 11:00
    pytest.param(local(2026, 5, 6, 10, 0), False, id="first-day-after-may-day"),
    pytest.param(local(2026, 10, 8, 10, 0), False, id="first-day-after-national-day"),
]


@pytest.mark.parametrize(("now", "overdue"), SWEEP_DAYS)
async def test_background_scheduler_sweeps_and_delivers(tmp_path, db_url, now, overdue):
    settings = make_settings(tmp_path, db_url)
    write_rules(settings.var_dir, "sweep_interval_s: 0.2\n")
    # pinned before the app starts: its background sweep never sees two clocks
    with time_machine.travel(now, tick=True):
        async with running_app(settings) as (app, client):
            await seed(app, client)
            ctx = of_runtime(app.state.runtime)
            async with app.state.runtime.db.sessionmaker() as s:
                agent = await s.scalar(select(User).where(User.username == "km.agent"))
                cases = {}
                for unit, ago in (("km-power", 5), ("km-water", 30)):
                    then = now - timedelta(days=ago)
                    case = await service.create_case(s, CaseCreate(summary="路灯"), agent, now=then, ctx=ctx)
                    await service.transition(s, case, "dispatch", agent, now=then, ctx=ctx, unit_code=unit)
                    cases[unit] = case.id
                await s.commit()

            async def state() -> dict[str, tuple[bool, set[str], set[str]]]:
                """Per unit: (case marked overdue, reminder kinds, statuses of the notices sent to it)."""
                async with app.state.runtime.db.sessionmaker() as s:
                    out = {}
                    for unit, cid in cases.items():
                        case = await s.scalar(select(Case).where(Case.id == cid))
                        kinds = set(
                            await s.scalars(select(CaseReminder.kind).where(CaseReminder.case_id == cid))
                        )
                        sent = set(
                            await s.scalars(
                                select(OutboxMessage.status).where(
                                    OutboxMessage.kind == "reminder", OutboxMessage.recipient == unit
                                )
                            )
                        )
                        out[unit] = (case.overdue_at is not None, kinds, sent)
                    return out

            # both cases get a reminder: an overdue one, or a near-due one (sign due at 11:00 today)
            st = await wait_until(
                state,
                30,
                "the sweep to remind both units",
                # this case's own reminder (the notices are per unit, and the seed's cases remind it too)
                check=lambda st: all(v[1] and v[2] == {"logged"} for v in st.values()),
            )
            assert st["km-water"] == (True, {"overdue"}, {"logged"})  # dispatched 30 days ago: always overdue
            if overdue:
                assert st["km-power"] == (True, {"overdue"}, {"logged"}), st
            else:  # the holiday did not count: only a heads-up that signing is due soon
                assert st["km-power"] == (False, {"near_due"}, {"logged"}), st
