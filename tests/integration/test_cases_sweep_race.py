"""督办 on PostgreSQL: a case that becomes overdue *between* the sweep's reminder insert and its
marking update is either marked together with its reminder or left for the next sweep — never marked
with no reminder (then it would never be reminded: seen in CI before the fix in app/cases/scheduler.py).

Deterministic: a hook on the sweep's own connection commits the other case from a second
connection exactly when the marking UPDATE is about to run. (SQLite serialises writers, so the
interleaving cannot happen there.)"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.util import await_only

from app.cases import service
from app.cases.context import of_runtime
from app.cases.models import Case, CaseReminder
from app.cases.scheduler import sweep
from app.cases.schemas import CaseCreate
from tests.conftest import _pg_admin
from tests.integration.test_cases_helpers import local, world
from tests.integration.test_cases_sweep import _user


@pytest.fixture
def pg_url(pg_database: str) -> Iterator[str]:
    url = f"{pg_database}_{uuid.uuid4().hex[:6]}"
    name = url.rsplit("/", 1)[1]
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield url
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _overdue_case(w: Any, summary: str) -> str:
    """A case dispatched on Monday 09:00 with its signing deadline passed by Tuesday."""
    ctx = of_runtime(w.runtime)
    async with w.session() as s:
        agent = await _user(s, "km.agent")
        case = await service.create_case(
            s, CaseCreate(summary=summary, type="help"), agent, now=local(2026, 11, 30, 8, 0), ctx=ctx
        )
        await service.transition(
            s, case, "dispatch", agent, now=local(2026, 11, 30, 9, 0), ctx=ctx, unit_code="km-power"
        )
        await s.commit()
        return case.number


async def test_a_case_due_between_reminding_and_marking_is_never_marked_unreminded(tmp_path, pg_url):
    async with world(tmp_path, pg_url) as w:
        first = await _overdue_case(w, "路灯不亮")
        engine = w.runtime.db.engine.sync_engine
        late: list[str] = []

        def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.lstrip().upper().startswith("UPDATE CASES SET OVERDUE_AT") and not late:
                # another agent's case commits now, between the reminders and the marking
                late.append(await_only(_overdue_case(w, "井盖缺失")))

        event.listen(engine, "before_cursor_execute", before)
        try:
            async with w.session() as s:
                got = await sweep(s, local(2026, 12, 1, 15, 0), of_runtime(w.runtime))
                await s.commit()
        finally:
            event.remove(engine, "before_cursor_execute", before)
        assert late, "the hook never ran: the sweep's marking statement changed shape"
        assert got["marked_overdue"] == 1 and got["reminders"] >= 1

        async def state() -> dict[str, tuple[bool, int]]:
            async with w.session() as s:
                out = {}
                for c in await s.scalars(select(Case)):
                    n = len(list(await s.scalars(
                        select(CaseReminder).where(CaseReminder.case_id == c.id, CaseReminder.kind == "overdue")
                    )))  # fmt: skip
                    out[c.number] = (c.overdue_at is not None, n)
                return out

        after_first = await state()
        assert after_first[first] == (True, 1)
        assert after_first[late[0]] == (False, 0), "marked overdue with no reminder"
        async with w.session() as s:  # the next sweep takes it: reminded and marked, once
            await sweep(s, local(2026, 12, 1, 15, 5), of_runtime(w.runtime))
            await s.commit()
        assert (await state())[late[0]] == (True, 1)
