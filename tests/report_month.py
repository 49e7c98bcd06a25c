"""A generated month for the report tests (October 2026, with the National Day holiday Oct 1-7 and the
swapped working Saturday Oct 10): calls written as the AMI consumer writes them, cases driven through the
real workflow over HTTP with the clock pinned (time-machine), so their deadlines come from the
working-day calendar. The figures they give are computed by hand in tests/integration/test_reports.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from sqlalchemy import select

from app.auth.models import User
from app.calls.models import Call
from tests.integration.test_cases_helpers import World, local

OCT = "start=2026-10-01&end=2026-10-31"
HOLIDAYS = range(1, 8)  # 国庆 2026: Oct 1-7


def _call(
    uid: str,
    platform: str,
    at: datetime,
    *,
    hold: int,
    talk: int | None,
    outcome: str,
    hotline: str = "12345",
) -> Call:
    answered = outcome == "completed"
    return Call(
        uniqueid=uid,
        linkedid=uid,
        caller="13987212345" if platform == "dali" else "13888812345",
        platform=platform,
        queue=f"q-{platform}",
        arrived_at=at,
        queued_at=at,
        answered_at=at + timedelta(seconds=hold) if answered else None,
        hold_s=hold,
        talk_s=talk,
        outcome=outcome,
        is_test=uid.startswith("sim-"),
        source_hotline=hotline,
    )


async def seed_calls(app: Any) -> None:
    """Every day of October: Kunming A (hold 10 s, talk 100 s), B (hold 30 s, talk 200 s), C abandoned
    after 40 s; Dali D (hold 20 s, talk 50 s); on the seven holidays Kunming also E1, E2 (hold 5 s,
    talk 60 s), which came in on the merged 12315 line. Left out: a simulated call every day, a voicemail-only call, and calls just outside
    the month in local time (Sep 30 23:55, Nov 1 00:05)."""
    rows = []
    for d in range(1, 32):
        base = local(2026, 10, d, 9, 0)
        rows += [
            _call(f"a{d}", "kunming", base, hold=10, talk=100, outcome="completed"),
            _call(f"b{d}", "kunming", base + timedelta(hours=1), hold=30, talk=200, outcome="completed"),
            _call(f"c{d}", "kunming", base + timedelta(hours=2), hold=40, talk=None, outcome="abandoned"),
            _call(f"d{d}", "dali", base + timedelta(hours=3), hold=20, talk=50, outcome="completed"),
            _call(f"sim-{d}-in", "kunming", base, hold=1, talk=10, outcome="completed"),
        ]
        if d in HOLIDAYS:
            rows += [
                _call(
                    f"e{d}-{i}",
                    "kunming",
                    base + timedelta(hours=4 + i),
                    hold=5,
                    talk=60,
                    outcome="completed",
                    hotline="12315",
                )
                for i in (1, 2)
            ]
    rows[-3].arrived_at = rows[-3].queued_at = local(2026, 10, 31, 23, 50)  # c31: still October locally
    rows += [
        _call("before", "kunming", local(2026, 9, 30, 23, 55), hold=5, talk=60, outcome="completed"),
        _call("after", "kunming", local(2026, 11, 1, 0, 5), hold=5, talk=60, outcome="completed"),
    ]
    vm = _call("vm1", "kunming", local(2026, 10, 5, 9, 0), hold=0, talk=None, outcome="voicemail")
    vm.queued_at = None
    rows.append(vm)
    async with app.state.runtime.db.sessionmaker() as s:
        s.add_all(rows)
        await s.commit()


class Clock:
    """Pins the clock (time-machine) and gives every user a session token issued at that time (a token
    from the future does not verify)."""

    def __init__(self, w: World) -> None:
        self.w = w
        self.tm: time_machine.travel | None = None
        self.uids: dict[str, int] = {}

    async def load(self) -> Clock:
        async with self.w.session() as s:
            self.uids = dict((await s.execute(select(User.username, User.id))).tuples().all())
        return self

    def at(self, when: datetime) -> None:
        if self.tm is not None:
            self.tm.stop()
        self.tm = time_machine.travel(when.astimezone(UTC), tick=True)
        self.tm.start()
        signer = self.w.runtime.signer
        for name, header in self.w.h.items():
            header["Authorization"] = f"Bearer {signer.issue(User(id=self.uids[name], session_version=0))}"

    def stop(self) -> None:
        if self.tm is not None:
            self.tm.stop()
            self.tm = None


async def seed_cases(w: World, clock: Clock) -> dict[str, str]:
    """The cases' stories (phones differ unless said):
    c1 Sep 30 (outside), phone P1; c2 Oct 9, phone P1 again (a repeat contact), dispatched, signed,
    replied Oct 12 (on time), rated 满意; c3 Oct 1 (holiday) consultation dispatched at once: due 5
    working days later, after the holiday (Oct 13 or later), replied Oct 12 — 11 calendar days later,
    on time — rated 不满意; c4 Oct 12 consultation, replied Oct 30 (late); c5 Oct 15 direct answer;
    c6 Oct 20 dispatched, returned by the unit, re-dispatched, signed, extension approved, still open;
    c7 Oct 31 23:30 local, intake only; c8 Nov 1 00:10 local (outside); c9 Oct 16 from a simulated call
    (left out); c10 Oct 17 transferred to the province (left out)."""
    n: dict[str, str] = {}

    async def create(key: str, when: datetime, phone: str, **kw: object) -> str:
        clock.at(when)
        body = {"type": "consultation", "citizen_phone": phone, "category_code": "0101", **kw}
        n[key] = (await w.create(**body))["case"]["number"]
        return n[key]

    async def act(when: datetime, who: str, key: str, action: str, **kw: object) -> None:
        clock.at(when)
        await w.act(who, n[key], action, **kw)

    async def handle(key: str, when: datetime, reply: datetime | None) -> None:
        await act(when, "km.agent", key, "dispatch", unit_code="km-water")
        await act(when + timedelta(minutes=30), "water.h", key, "sign")
        if reply is not None:
            await act(reply, "water.h", key, "reply", note="已处理")

    await create("c1", local(2026, 9, 30, 16, 0), "13900000001")
    await create("c2", local(2026, 10, 9, 10, 0), "13900000001")
    await handle("c2", local(2026, 10, 9, 10, 5), local(2026, 10, 12, 15, 0))
    await create("c3", local(2026, 10, 1, 10, 0), "13900000003")
    await handle("c3", local(2026, 10, 1, 10, 5), local(2026, 10, 12, 10, 0))
    await create("c4", local(2026, 10, 12, 10, 0), "13900000004")
    await handle("c4", local(2026, 10, 12, 10, 5), local(2026, 10, 30, 10, 0))
    for key, rating, day in (("c2", 1, 13), ("c3", 3, 13)):
        await act(local(2026, 10, day, 9, 0), "km.agent", key, "feedback")
        clock.at(local(2026, 10, day, 9, 30))
        r = await w.client.post(
            f"/api/cases/{n[key]}/rating", json={"rating": rating}, headers=w.h["km.agent"]
        )
        assert r.status_code == 200, r.text
    await create("c5", local(2026, 10, 15, 11, 0), "13900000005")
    await act(local(2026, 10, 15, 11, 5), "km.agent", "c5", "answer", note="已当场答复")
    await create("c6", local(2026, 10, 20, 10, 0), "13900000006")
    await act(local(2026, 10, 20, 10, 5), "km.agent", "c6", "dispatch", unit_code="km-water")
    await act(local(2026, 10, 20, 11, 0), "water.h", "c6", "return", note="不属于本单位")
    await handle("c6", local(2026, 10, 20, 14, 0), None)
    await act(local(2026, 10, 21, 10, 0), "water.h", "c6", "request_extension", note="需协调")
    await act(local(2026, 10, 21, 11, 0), "km.sup", "c6", "approve_extension")
    await create("c7", local(2026, 10, 31, 23, 30), "13900000007")
    await create("c8", local(2026, 11, 1, 0, 10), "13900000008")
    await create("c9", local(2026, 10, 16, 10, 0), "13900000009", call_uniqueid="sim-abc-in")
    await create("c10", local(2026, 10, 17, 10, 0), "13900000010")
    await act(
        local(2026, 10, 17, 10, 5), "km.agent", "c10", "transfer", target_platform="province", note="跨地区"
    )
    clock.at(local(2026, 11, 2, 9, 0))
    return n
