"""Events published after commit, and the background scheduler (a STARTERS entry) doing the sweep."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from app.auth.models import User
from app.cases import service
from app.cases.context import of_runtime
from app.cases.models import Case
from app.cases.schemas import CaseCreate
from app.db import utcnow
from app.outbox.models import OutboxMessage
from tests.conftest import make_settings, running_app
from tests.integration.test_cases_helpers import seed, world, write_rules


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


async def test_background_scheduler_sweeps_and_delivers(tmp_path, db_url):
    settings = make_settings(tmp_path, db_url)
    write_rules(settings.var_dir, "sweep_interval_s: 0.2\n")
    async with running_app(settings) as (app, client):
        await seed(app, client)
        ctx = of_runtime(app.state.runtime)
        async with app.state.runtime.db.sessionmaker() as s:
            agent = await s.scalar(select(User).where(User.username == "km.agent"))
            then = utcnow() - timedelta(days=5)
            case = await service.create_case(s, CaseCreate(summary="路灯"), agent, now=then, ctx=ctx)
            await service.transition(s, case, "dispatch", agent, now=then, ctx=ctx, unit_code="km-power")
            await s.commit()
        for _ in range(50):
            await asyncio.sleep(0.1)
            async with app.state.runtime.db.sessionmaker() as s:
                case = await s.scalar(select(Case).where(Case.id == case.id))
                reminder = await s.scalar(select(OutboxMessage).where(OutboxMessage.kind == "reminder"))
            if case.overdue_at is not None and reminder is not None and reminder.status == "sent":
                break
        assert case.overdue_at is not None
        assert reminder is not None and reminder.recipient == "km-power" and reminder.status == "sent"
