"""The reports' daily rollup against the raw rows, on the generated October of test_reports (National
Day holiday, a swapped working Saturday, out-of-range and simulated rows), on SQLite and PostgreSQL:
every figure of every period and dimension (and filtered reports) is the same from the rollup as from
the raw calls and cases, and a late change (a case closed days after it was accepted, a unit's return)
shows at once and after the rebuild."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select, update

from app.cases.models import Case
from app.reports import queries as qx
from app.reports import rollup
from app.reports.figures import PERIODS
from app.reports.models import CaseDay, RollupDirty
from tests.integration.test_cases_helpers import local, world
from tests.report_month import OCT, Clock, seed_calls, seed_cases

QUERIES = [
    f"{OCT}&period={p}&by={b}"
    for p in PERIODS
    for b in ("none", "platform", "hotline", "channel", "unit", "category")
] + [
    f"{OCT}&period=day&platform=kunming",
    f"{OCT}&period=week&hotline=12315",
    f"{OCT}&period=total&category=01&by=unit",
    f"{OCT}&period=total&category=0101&by=channel",
    f"{OCT}&period=total&unit=km-water&by=category",
    f"{OCT}&period=total&channel=phone&by=platform",
    "start=2026-09-25&end=2026-11-02&period=day&by=platform",  # built, dirty and today's days mixed
]


async def reports(w: Any) -> dict[str, Any]:
    out = {}
    for q in QUERIES:
        r = await w.client.get(f"/api/reports?{q}", headers=w.h["prov.sup"])
        assert r.status_code == 200, (q, r.text)
        out[q] = r.json()
    return out


async def refresh(w: Any) -> dict[str, int]:
    async with w.session() as s:
        done = await rollup.refresh(s, w.runtime.config.zone)
        await s.commit()
    return done


async def clean(w: Any) -> set[date]:
    async with w.session() as s:
        return await rollup.clean_days(
            s, qx.Filters(date(2026, 10, 1), date(2026, 10, 31)), w.runtime.config.zone
        )


async def test_rollup_gives_the_raw_figures_and_follows_late_changes(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        clock = await Clock(w).load()
        try:
            await seed_calls(w.app)
            numbers = await seed_cases(w, clock)  # the clock now stands at Nov 2 09:00 local
            assert await clean(w) == set()  # nothing built: every figure comes from the raw rows
            raw = await reports(w)

            done = await refresh(w)
            assert done["days"] >= 33  # Sep 30 (the first row) … Nov 1 (yesterday)
            october = {date(2026, 10, d) for d in range(1, 32)}
            assert await clean(w) == october  # now every October figure comes from the rollup
            async with w.session() as s:
                assert await s.scalar(select(func.count()).select_from(RollupDirty)) == 0
                assert await s.scalar(select(func.count()).select_from(CaseDay)) > 0
            assert await reports(w) == raw
            t = raw[f"{OCT}&period=month&by=none"]["total"]
            assert (t["offered"], t["cases"], t["finished"], t["dispatched"]) == (138, 6, 4, 4)  # as by hand

            # late: c6 (accepted Oct 20, dispatched and extended) is replied today, Nov 2
            clock.at(local(2026, 11, 2, 10, 0))
            await w.act("water.h", numbers["c6"], "reply", note="已处理")
            assert date(2026, 10, 20) not in await clean(w)  # its day is dirty: read from the raw rows
            late = await reports(w)
            t = late[f"{OCT}&period=month&by=none"]["total"]
            assert (t["cases"], t["finished"], t["finish_rate"]) == (6, 5, 0.8333)  # 5/6
            assert t["on_time_rate"] == 0.8  # c2 c3 c5 c6 on time (extended deadline), c4 late: 4/5
            day20 = {row["period"]: row for row in late[f"{OCT}&period=day&by=none"]["rows"]}["2026-10-20"]
            assert day20["finish_rate"] == 1.0

            assert (await refresh(w))["days"] == 1  # only Oct 20 rebuilt
            assert await clean(w) == october
            assert await reports(w) == late

            # any write path: c1's (Sep 30) phone changed by a bare SQL update, so c2 (Oct 9) is no
            # longer a repeat contact; the trigger marks Sep 30 and the 30 days after it
            async with w.session() as s:
                await s.execute(
                    update(Case).where(Case.number == numbers["c1"]).values(citizen_phone="13900000099")
                )
                await s.commit()
            dirty = october - await clean(w)
            assert date(2026, 10, 9) in dirty and date(2026, 10, 31) not in dirty
            t = (await reports(w))[f"{OCT}&period=month&by=none"]["total"]
            assert t["repeat_rate"] == 0.0
            await refresh(w)
            assert await clean(w) == october
            assert (await reports(w))[f"{OCT}&period=month&by=none"]["total"]["repeat_rate"] == 0.0
        finally:
            clock.stop()
