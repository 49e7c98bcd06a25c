"""督办: overdue marking and reminders across a weekend and National Day 2026, idempotent sweeps;
numbering under concurrency; the return window. Explicit `now` values throughout."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import func, select

from app.auth.models import User
from app.cases import service
from app.cases.context import of_runtime
from app.cases.models import Case, CaseReminder
from app.cases.scheduler import sweep
from app.cases.schemas import CaseCreate
from app.outbox.models import OutboxMessage
from tests.integration.test_cases_helpers import local, world


async def _user(s, name):
    return await s.scalar(select(User).where(User.username == name))


async def _counts(w):
    async with w.session() as s:
        rem = await s.scalar(select(func.count()).select_from(CaseReminder))
        out = list(await s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reminder")))
    return rem, out


async def test_sign_overdue_across_a_weekend_reminded_once(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        ctx = of_runtime(w.runtime)
        async with w.session() as s:
            agent = await _user(s, "km.agent")
            case = await service.create_case(
                s, CaseCreate(summary="路灯不亮", type="help"), agent, now=local(2026, 11, 27, 15, 0), ctx=ctx
            )
            await service.transition(
                s, case, "dispatch", agent, now=local(2026, 11, 27, 17, 0), ctx=ctx, unit_code="km-power"
            )
            number = case.number
            await s.commit()
        assert case.sign_due == local(2026, 11, 30, 10, 30)  # Friday 17:00 + 2 working hours = Monday 10:30

        async with w.session() as s:  # Saturday: not late (the weekend does not count), but near due
            got = await sweep(s, local(2026, 11, 28, 10, 0), ctx)  # 4 working hours from now end Monday 14:00
            await s.commit()
        assert got == {"marked_overdue": 0, "reminders": 1, "notices": 1}
        r = await w.client.get(
            "/api/cases/board", params={"now": local(2026, 11, 30, 9, 0).isoformat()}, headers=w.h["km.sup"]
        )
        assert [c["number"] for c in r.json()["yellow"]] == [number] and r.json()["red"] == []
        assert r.json()["yellow"][0]["light"] == "yellow"
        async with w.session() as s:  # Monday 09:00: still yellow, already reminded
            got = await sweep(s, local(2026, 11, 30, 9, 0), ctx)
            await s.commit()
        assert got == {"marked_overdue": 0, "reminders": 0, "notices": 0}

        for _ in range(2):  # Monday 10:31: late; the second sweep (or a restart) sends nothing twice
            async with w.session() as s:
                got = await sweep(s, local(2026, 11, 30, 10, 31), ctx)
                await s.commit()
        assert got == {"marked_overdue": 0, "reminders": 0, "notices": 0}  # the first of the two did it
        rem, out = await _counts(w)
        assert rem == 2
        assert [(m.channel, m.recipient) for m in out] == [("unit", "km-power")] * 2
        assert "签收环节已超期" in out[1].body and number in out[1].body
        assert "签收环节即将到期" in out[0].body

        c = await w.get("km.sup", number)
        assert c["overdue_at"] is not None
        r = await w.client.get(
            "/api/cases/board", params={"now": local(2026, 11, 30, 10, 31).isoformat()}, headers=w.h["km.sup"]
        )
        assert [x["number"] for x in r.json()["red"]] == [number] and r.json()["red"][0]["light"] == "red"
        # signing late ends the sign stage: the handle stage has its own deadline, not overdue
        async with w.session() as s:
            case = await s.scalar(select(Case).where(Case.number == number))
            await service.transition(
                s, case, "sign", await _user(s, "power.h"), now=local(2026, 11, 30, 11, 0), ctx=ctx
            )
            await s.commit()
            assert case.overdue_at is None and case.due_at == case.handle_due


async def test_handle_deadline_across_national_day(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        ctx = of_runtime(w.runtime)
        async with w.session() as s:
            agent, unit = await _user(s, "km.agent"), await _user(s, "water.h")
            case = await service.create_case(
                s,
                CaseCreate(summary="咨询水费", type="consultation"),
                agent,
                now=local(2026, 9, 30, 9, 0),
                ctx=ctx,
            )
            await service.transition(
                s, case, "dispatch", agent, now=local(2026, 9, 30, 10, 0), ctx=ctx, unit_code="km-water"
            )
            await service.transition(s, case, "sign", unit, now=local(2026, 9, 30, 10, 30), ctx=ctx)
            await s.commit()
        assert case.handle_due == local(2026, 10, 13, 10, 0)  # 5 working days, the holiday skipped
        async with w.session() as s:  # Oct 9: a Mon-Fri count would say late; the calendar says not
            assert (await sweep(s, local(2026, 10, 9, 12, 0), ctx))["marked_overdue"] == 0
            await s.commit()
        async with w.session() as s:
            got = await sweep(s, local(2026, 10, 13, 10, 1), ctx)
            await s.commit()
        assert got["marked_overdue"] == 1 and got["reminders"] == 1  # the yellow stage was never swept
        async with w.session() as s:  # an approved extension starts a new deadline: overdue cleared
            case = await s.scalar(select(Case).where(Case.id == case.id))
            await service.transition(
                s, case, "request_extension", unit, "工程量大", now=local(2026, 10, 13, 11, 0), ctx=ctx
            )
            await service.transition(
                s,
                case,
                "approve_extension",
                await _user(s, "km.sup"),
                now=local(2026, 10, 13, 12, 0),
                ctx=ctx,
            )
            await s.commit()
            assert case.overdue_at is None and case.handle_due == local(2026, 11, 3, 10, 0)


async def test_year_without_calendar_surfaces_warning(tmp_path, db_url):
    # 2098 known through an administrator file, 2099 known by no library (a release changes nothing)
    (tmp_path / "var" / "holidays").mkdir(parents=True)
    (tmp_path / "var" / "holidays" / "2098.yaml").write_text("year: 2098\nholidays: []\n", encoding="utf-8")
    async with world(tmp_path, db_url) as w:
        ctx = of_runtime(w.runtime)
        async with w.session() as s:
            agent = await _user(s, "km.agent")
            case = await service.create_case(
                s,
                CaseCreate(summary="投诉噪声", type="complaint"),
                agent,
                now=local(2098, 12, 29, 9, 0),
                ctx=ctx,
            )
            await service.transition(
                s, case, "dispatch", agent, now=local(2098, 12, 29, 10, 0), ctx=ctx, unit_code="km-housing"
            )
            await s.commit()
        c = await w.get("km.agent", case.number)
        assert c["handle_due"].startswith("2099-") and "2099" in c["calendar_warning"]
        assert "2098" not in c["calendar_warning"]


async def test_return_only_within_24_hours_of_signing(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        ctx = of_runtime(w.runtime)
        async with w.session() as s:
            agent, unit = await _user(s, "km.agent"), await _user(s, "water.h")
            case = await service.create_case(
                s, CaseCreate(summary="x"), agent, now=local(2026, 11, 26, 9), ctx=ctx
            )
            await service.transition(
                s, case, "dispatch", agent, now=local(2026, 11, 26, 9, 5), ctx=ctx, unit_code="km-water"
            )
            await service.transition(s, case, "sign", unit, now=local(2026, 11, 26, 9, 30), ctx=ctx)
            await s.commit()
            number = case.number
            try:
                await service.transition(
                    s, case, "return", unit, "不归我管", now=local(2026, 11, 27, 9, 31), ctx=ctx
                )
                raise AssertionError("late return accepted")
            except service.CaseError as e:
                assert e.status == 409 and "退回期限已过" in str(e)
            await s.rollback()
        c = await w.get("water.h", number)
        assert c["status"] == "signed" and [e["action"] for e in c["events"]] == [
            "create",
            "dispatch",
            "sign",
        ]


async def test_numbers_unique_and_dense_under_concurrency(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        ctx = of_runtime(w.runtime)

        async def one(i: int, platform: str) -> str:
            async with w.session() as s:
                c = await service.create_case(
                    s,
                    CaseCreate(summary=f"并发{i}", platform=platform),
                    None,
                    now=local(2026, 11, 26, 10),
                    ctx=ctx,
                )
                await s.commit()
                return c.number

        numbers = await asyncio.gather(*[one(i, "kunming" if i % 2 else "dali") for i in range(20)])
        assert len(set(numbers)) == 20
        km = sorted(n for n in numbers if n.startswith("KM-"))
        assert km == [f"KM-20261126-{i:04d}" for i in range(1, 11)]
        assert all(re.fullmatch(r"(KM|DL)-20261126-\d{4}", n) for n in numbers)


async def test_concurrent_transitions_on_one_case_cannot_both_win(tmp_path, db_url):
    from sqlalchemy.orm.exc import StaleDataError

    from app.cases import workflow as wf
    from app.cases.models import CaseEvent

    async with world(tmp_path, db_url) as w:
        ctx = of_runtime(w.runtime)
        async with w.session() as s:
            agent = await _user(s, "km.agent")
            case = await service.create_case(s, CaseCreate(summary="x"), agent, ctx=ctx)
            await service.transition(s, case, "dispatch", agent, ctx=ctx, unit_code="km-water")
            await s.commit()
        async with w.session() as s2:
            c2 = await s2.get(Case, case.id)  # read "dispatched" (SQLite serialises transactions, so the
            unit2 = await _user(s2, "water.h")  # read ends before the other writer starts)
            await s2.commit()
            async with w.session() as s1:  # meanwhile the handler's other click signs it
                c1 = await s1.get(Case, case.id)
                await service.transition(s1, c1, "sign", await _user(s1, "water.h"), ctx=ctx)
                await s1.commit()
            try:
                await service.transition(s2, c2, "return", unit2, "不归我管", ctx=ctx)
                await s2.commit()
                raise AssertionError("a transition from a stale state was accepted")
            except StaleDataError:
                await s2.rollback()
        async with w.session() as s:
            rows = list(
                await s.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))
            )
            final = await s.get(Case, case.id)
        assert final.status == "signed" and [e.action for e in rows] == ["create", "dispatch", "sign"]
        assert wf.replay(wf.INTAKE, [(e.from_status, e.action, e.to_status) for e in rows[1:]]) == "signed"
