"""DB-backed variant of the transition property test (few examples): random actions through the
service; refused ones change nothing in the database; the stored audit log replays to the status."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.auth.models import User
from app.cases import service
from app.cases import workflow as wf
from app.cases.context import of_runtime
from app.cases.models import CaseEvent
from app.cases.schemas import CaseCreate
from tests.integration.test_cases_helpers import world

ACTORS = ["km.agent", "km.sup", "water.h", "power.h", None]
ACTIONS = [a for a in wf.ACTIONS if a != "merge"]


def test_random_sequences_on_the_database(tmp_path_factory, db_url):
    tmp = tmp_path_factory.mktemp("prop")

    async def run(examples: list[list[tuple[str, str | None, bool]]]) -> None:
        legal = 0
        async with world(tmp, db_url) as w:
            ctx = of_runtime(w.runtime)
            for steps in examples:
                async with w.session() as s:
                    users = {u.username: u for u in await s.scalars(select(User))}
                    case = await service.create_case(
                        s, CaseCreate(summary="p", platform="kunming"), None, ctx=ctx
                    )
                    await s.commit()
                    for action, who, with_note in steps:
                        actor = users[who] if who else None
                        before = (case.status, case.extension_count, case.due_at, case.lead_unit)
                        n_events = await s.scalar(select(func.count()).where(CaseEvent.case_id == case.id))
                        try:
                            await service.transition(
                                s,
                                case,
                                action,
                                actor,
                                "说明" if with_note else None,
                                ctx=ctx,
                                unit_code="km-water",
                                target_platform="dali",
                                rating=2,
                            )
                            await s.commit()
                        except (service.IllegalTransition, service.CaseError):
                            await s.rollback()
                            await s.refresh(case)
                            users = {u.username: u for u in await s.scalars(select(User))}  # reload expired
                            assert (case.status, case.extension_count, case.due_at, case.lead_unit) == before
                            after = await s.scalar(select(func.count()).where(CaseEvent.case_id == case.id))
                            assert after == n_events
                    rows = list(
                        await s.scalars(
                            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
                        )
                    )
                    assert rows[0].action == "create"
                    log = [(e.from_status, e.action, e.to_status) for e in rows[1:]]
                    assert wf.replay(wf.INTAKE, log) == case.status
                    legal += len(log)
        assert legal > 0  # the sequences did move cases, not only get refused

    collected: list[list[tuple[str, str | None, bool]]] = []

    @settings(max_examples=15, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.tuples(st.sampled_from(ACTIONS), st.sampled_from(ACTORS), st.booleans()), max_size=25))
    def gen(steps):
        collected.append(steps)

    gen()
    collected.append(
        [
            ("dispatch", "km.agent", False),
            ("sign", "power.h", False),
            ("sign", "water.h", False),
            ("request_extension", "water.h", True),
            ("approve_extension", "km.sup", False),
            ("request_extension", "water.h", True),
            ("reply", "water.h", True),
        ]
    )
    asyncio.run(run(collected))
