"""Reports over a generated month (October 2026, with the National Day holiday Oct 1-7 and the swapped
working Saturday Oct 10) on SQLite and PostgreSQL: every figure against values computed by hand in the
comments, simulated calls and out-of-range rows left out, drill-down, exports, roles and scope.

Calls are written as the AMI consumer writes them; cases go through the real workflow over HTTP with
the clock pinned (time-machine), so their deadlines come from the working-day calendar."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select

from app.calls.models import Call
from tests.browser import chromium, live_server, login_page, screenshot_path
from tests.conftest import add_user, make_settings
from tests.integration.test_cases_helpers import world
from tests.report_month import OCT, Clock, seed_calls, seed_cases


async def test_month_report_matches_hand_computed_figures(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        clock = await Clock(w).load()
        try:
            await seed_calls(w.app)
            numbers = await seed_cases(w, clock)
            sup = w.h["prov.sup"]
            r = await w.client.get(f"/api/reports?{OCT}&period=month", headers=sup)
            assert r.status_code == 200, r.text
            rep = r.json()
            t = rep["total"]
            # offered: Kunming 31×3 + 7×2 = 107, Dali 31 → 138; answered 31×2 + 14 + 31 = 107;
            # within 15 s: A 31 + E 14 = 45; abandoned: C 31
            assert (t["offered"], t["answered"], t["answered_within_15s"], t["abandoned"]) == (
                138,
                107,
                45,
                31,
            )
            assert t["answer_rate"] == 0.7754  # 107/138
            assert t["within_15s_rate"] == 0.3261  # 45/138
            assert t["abandon_rate"] == 0.2246  # 31/138
            assert t["asa_s"] == 18.0  # (31×10 + 31×30 + 14×5 + 31×20) / 107 = 1930/107
            assert t["aht_s"] == 109.3  # (31×100 + 31×200 + 14×60 + 31×50) / 107 = 11690/107
            # cases c2 c3 c4 c5 c6 c7 = 6; finished c2 c3 c4 c5; on time c2 c3 c5 (c3 thanks to the
            # holiday); rated c2 (满意) c3 (不满意); dispatched c2 c3 c4 c6; returned c6; extended c6;
            # repeat c2; direct c5
            assert (t["cases"], t["finished"], t["rated"], t["dispatched"], t["direct"]) == (6, 4, 2, 4, 1)
            assert t["finish_rate"] == 0.6667
            assert t["on_time_rate"] == 0.75
            assert t["satisfaction_rate"] == 0.5
            assert t["return_rate"] == 0.25 and t["extension_rate"] == 0.25
            assert t["repeat_rate"] == 0.1667 and t["direct_share"] == 0.1667
            assert [row["period_label"] for row in rep["rows"]] == ["2026年10月"]

            # by day: Oct 1 (holiday) Kunming A B C E1 E2 + Dali D = 6 offered, 3 within 15 s
            days = {
                row["period"]: row
                for row in (await w.client.get(f"/api/reports?{OCT}&period=day", headers=sup)).json()["rows"]
            }
            assert len(days) == 31
            assert (days["2026-10-01"]["offered"], days["2026-10-01"]["within_15s_rate"]) == (6, 0.5)
            assert (days["2026-10-08"]["offered"], days["2026-10-08"]["within_15s_rate"]) == (4, 0.25)
            assert days["2026-10-31"]["offered"] == 4 and days["2026-10-31"]["cases"] == 1  # c7 at 23:30
            # by week: the first (Mon Sep 28) is clipped to Oct 1-4: 4 × (3 + 2 + 1) = 24
            weeks = (await w.client.get(f"/api/reports?{OCT}&period=week", headers=sup)).json()["rows"]
            assert weeks[0]["period"] == "2026-09-28" and weeks[0]["offered"] == 24
            assert sum(x["offered"] for x in weeks) == 138
            # by platform: Dali 31 offered, all answered after 20 s
            plats = {
                row["dim"]: row
                for row in (
                    await w.client.get(f"/api/reports?{OCT}&period=total&by=platform", headers=sup)
                ).json()["rows"]
            }
            assert plats["dali"]["dim_label"] == "大理" and plats["dali"]["offered"] == 31
            assert plats["dali"]["within_15s_rate"] == 0.0 and plats["kunming"]["cases"] == 6
            # by channel / unit / category: case figures only
            by_unit = (await w.client.get(f"/api/reports?{OCT}&period=total&by=unit", headers=sup)).json()
            assert by_unit["calls_apply"] is False and by_unit["total"]["offered"] is None
            units = {row["dim"]: row for row in by_unit["rows"]}
            assert units["km-water"]["dim_label"] == "昆明市供水公司" and units["km-water"]["cases"] == 4
            # by source hotline: the 14 holiday calls came in on 12315, all answered within 15 s
            by_line = (await w.client.get(f"/api/reports?{OCT}&period=total&by=hotline", headers=sup)).json()
            lines = {row["dim"]: row for row in by_line["rows"]}
            assert lines["12315"]["offered"] == 14 and lines["12315"]["within_15s_rate"] == 1.0
            assert lines["12345"]["offered"] == 124 and lines["12345"]["answer_rate"] == 0.75  # 93/124
            assert "12315" in lines["12315"]["dim_label"]
            r = await w.client.get(f"/api/reports?{OCT}&period=total&hotline=12315", headers=sup)
            assert r.json()["total"]["offered"] == 14
            cat = (await w.client.get(f"/api/reports?{OCT}&period=total&by=category", headers=sup)).json()
            assert [(x["dim_label"], x["cases"]) for x in cat["rows"]] == [("城乡建设", 6)]

            # the wallboard's period card: the same call figures; 满意率 of the ratings given in October
            # (c2 满意, c3 不满意)
            p = (await w.client.get("/api/stats/period?start=2026-10-01&end=2026-10-31", headers=sup)).json()
            assert (p["offered"], p["answer_rate"], p["within_15s_rate"]) == (138, 0.7754, 0.3261)
            assert (p["satisfaction"]["rated"], p["satisfaction"]["rate"]) == (2, 0.5)
            p = (await w.client.get("/api/stats/period?start=2026-10-01&end=2026-10-07", headers=sup)).json()
            assert (p["offered"], p["within_15s_rate"]) == (42, 0.5)  # 7 × (3 + 2 + 1); 7 × 3 within 15 s
            p = await w.client.get("/api/stats/period?start=2026-10-08&end=2026-10-01", headers=sup)
            assert p.status_code == 400

            # drill-down: the figure's own calls and cases
            d = (
                await w.client.get(
                    f"/api/reports/drill?{OCT}&period=day&figure=abandon_rate&key=2026-10-01", headers=sup
                )
            ).json()
            assert d["kind"] == "calls" and d["total"] == 1 and d["items"][0]["uniqueid"] == "c1"
            assert d["items"][0]["caller"] == "138****2345"  # masked
            d = (
                await w.client.get(f"/api/reports/drill?{OCT}&period=total&figure=on_time_rate", headers=sup)
            ).json()
            assert d["title"] == "超时办结工单" and [x["number"] for x in d["items"]] == [numbers["c4"]]
            d = (
                await w.client.get(f"/api/reports/drill?{OCT}&period=total&figure=repeat_rate", headers=sup)
            ).json()
            assert [x["number"] for x in d["items"]] == [numbers["c2"]]
            d = (
                await w.client.get(
                    f"/api/reports/drill?{OCT}&period=total&by=platform&dim=dali&figure=answered", headers=sup
                )
            ).json()
            assert d["total"] == 31

            # exports: the same figures
            r = await w.client.get(f"/api/reports/export.csv?{OCT}&period=month", headers=sup)
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
            rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
            assert rows[0][:5] == ["统计周期", "分组", "呼入量", "接听量", "接通率"]
            assert rows[-1][:5] == ["合计", "全部", "138", "107", "77.5%"]
            r = await w.client.get(f"/api/reports/export.xlsx?{OCT}&period=month", headers=sup)
            ws = load_workbook(io.BytesIO(r.content)).active
            values = [list(x) for x in ws.iter_rows(values_only=True)]
            assert values[2][:4] == ["统计周期", "分组", "呼入量", "接听量"]
            assert values[-1][:5] == ["合计", "全部", 138, 107, 0.7754]
        finally:
            clock.stop()


async def test_report_roles_scope_and_bad_input(tmp_path, sqlite_url):
    async with world(tmp_path, sqlite_url) as w:
        await seed_calls(w.app)
        # a prefecture's supervisor sees their own platform only, whatever they ask
        r = await w.client.get(f"/api/reports?{OCT}&period=total", headers=w.h["km.sup"])
        assert r.json()["total"]["offered"] == 107
        r = await w.client.get(f"/api/reports?{OCT}&platform=dali", headers=w.h["km.sup"])
        assert r.status_code == 403 and r.json()["detail"] == "无权查看该平台"
        r = await w.client.get(
            f"/api/reports/drill?{OCT}&by=platform&dim=dali&figure=offered&period=total",
            headers=w.h["km.sup"],
        )
        assert r.status_code == 403
        for who in ("km.agent", "water.h"):
            assert (await w.client.get(f"/api/reports?{OCT}", headers=w.h[who])).status_code == 403
            assert (await w.client.get(f"/api/reports/export.csv?{OCT}", headers=w.h[who])).status_code == 403
        w.client.cookies.clear()  # the agent's login cookie
        assert (await w.client.get(f"/api/reports?{OCT}")).status_code == 401
        bad = {
            "start=2026-10-31&end=2026-10-01": "结束日期早于开始日期",
            "start=2020-01-01&end=2026-10-01": "日期范围最长",
            f"{OCT}&platform=atlantis": "未知平台",
        }
        for q, msg in bad.items():
            r = await w.client.get(f"/api/reports?{q}", headers=w.h["prov.sup"])
            assert r.status_code in (400, 404) and msg in r.json()["detail"], r.text
        r = await w.client.get("/api/reports?start=yesterday&end=2026-10-01", headers=w.h["prov.sup"])
        assert r.status_code == 422
        r = await w.client.get(f"/api/reports/drill?{OCT}&figure=nope", headers=w.h["prov.sup"])
        assert r.status_code == 400 and "未知指标" in r.json()["detail"]
        r = await w.client.get(f"/api/reports/drill?{OCT}&by=unit&figure=offered", headers=w.h["prov.sup"])
        assert r.status_code == 400 and "话务指标" in r.json()["detail"]


async def test_reports_page_chart_table_drill_and_export(tmp_path, sqlite_url):
    async with live_server(make_settings(tmp_path, sqlite_url)) as (app, base):
        await add_user(app, "prov.sup", "supervisor", platform="province", display_name="省级值班长")
        await seed_calls(app)
        async with chromium() as browser:
            page = await login_page(browser, base, "prov.sup")
            await page.goto(f"{base}/ui/reports?{OCT}&period=week&by=platform")
            total = page.locator("#tbody tr.total td")
            await total.nth(2).wait_for()
            await page.wait_for_function(
                "() => document.querySelector('#tbody tr.total td:nth-child(3)').textContent === '138'"
            )
            assert await total.nth(4).text_content() == "77.5%"  # 接通率 107/138
            first = page.locator("#tbody tr[data-period='2026-09-28'][data-dim=kunming]")
            assert await first.locator("td").nth(0).text_content() == "2026-09-28 周"
            assert await first.locator("td").nth(1).text_content() == "昆明"
            assert await page.locator("#tbody tr").count() == 5 * 2 + 1  # weeks × platforms + 合计
            # the charts: one bar per period and series, the 15-second line
            assert await page.locator("#chart_calls svg rect.bar").count() == 5 * 2
            assert await page.locator("#chart_calls svg polyline.line").count() == 1
            # drill from Kunming's first-week abandon rate (4 abandoned calls, Oct 1-4) to the calls
            await first.locator("td[data-col=abandon_rate]").click()
            await page.locator("#drill tbody tr.drow").nth(3).wait_for()
            assert await page.locator("#drill tbody tr.drow").count() == 4
            assert "放弃的电话" in (await page.text_content("#drill_title") or "")
            assert "138****2345" in (await page.text_content("#drill tbody") or "")
            href = await page.get_attribute("#xlsx", "href")
            assert href and href.startswith("/api/reports/export.xlsx?") and "by=platform" in href
            async with page.expect_download() as dl:
                await page.click("#csv")
            path = Path(await (await dl.value).path())
            data = (await asyncio.to_thread(path.read_bytes)).decode("utf-8-sig")
            assert data.splitlines()[-1].startswith("合计,全部,138,107,77.5%")
            await page.screenshot(path=screenshot_path("reports-page"), full_page=True)

            # the wallboard's period card: 15-second answer rate and satisfaction of any chosen period
            await page.goto(f"{base}/ui/wallboard")
            await page.wait_for_selector("#p_counts:has-text('呼入')")
            await page.fill("#p_start", "2026-10-01")
            await page.fill("#p_end", "2026-10-31")
            await page.click("#p_go")
            await page.wait_for_selector("#p_15s:text-is('32.6%')")
            assert await page.text_content("#p_rate") == "77.5%"
            assert "呼入 138" in (await page.text_content("#p_counts") or "")
            await page.screenshot(path=screenshot_path("wallboard-period"), full_page=True)


async def test_simulated_calls_are_marked_and_counted_nowhere(tmp_path, sqlite_url):
    """A `hotline call` (channel ids sim-…) goes through the real AMI consumer like any call, is marked
    a test, and changes neither the wallboard nor a report; a citizen's call beside it does."""
    from app.db import utcnow
    from tests.integration.test_agents_desktop import feed, member_event

    async with world(tmp_path, sqlite_url) as w:
        for uid in ("sim-0123456789ab-in", "1764660000.17"):
            join = {"Event": "QueueCallerJoin", "Queue": "q-kunming", "Uniqueid": uid, "Position": "1"}
            await feed(w.app, {**join, "Linkedid": uid.removesuffix("-in"), "CallerIDNum": "13888812345"})
            await feed(w.app, {"Event": "QueueCallerAbandon", "Queue": "q-kunming", "Uniqueid": uid,
                               "Position": "1", "HoldTime": "12"})  # fmt: skip
        async with w.session() as s:
            marks = dict((await s.execute(select(Call.uniqueid, Call.is_test))).tuples().all())
        assert marks == {"sim-0123456789ab-in": True, "1764660000.17": False}
        sup = w.h["prov.sup"]
        k = (await w.client.get("/api/stats/kpis", headers=sup)).json()
        assert (k["all"]["offered"], k["all"]["abandoned"]) == (1, 1)
        ab = (await w.client.get("/api/stats/abandoned", headers=sup)).json()
        assert [a["uniqueid"] for a in ab] == ["1764660000.17"]
        ab = (await w.client.get("/api/stats/abandoned", headers=sup)).json()
        assert ab[0]["platform_label"] == "昆明"
        # the wallboard names queues and platforms in Chinese
        await feed(w.app, member_event("li.agent", "PJSIP/agent-1001", queue="q-kunming"))
        live = (await w.client.get("/api/stats/live", headers=sup)).json()
        assert [(q["name"], q["label"]) for q in live["queues"]] == [("q-kunming", "昆明热线")]
        assert live["agents"][0]["queue_labels"] == ["昆明热线"]
        today = utcnow().astimezone(w.runtime.config.zone).date().isoformat()
        t = (await w.client.get(f"/api/reports?start={today}&end={today}", headers=sup)).json()["total"]
        assert (t["offered"], t["abandoned"]) == (1, 1)
