"""What supervisors and agents see in headless Chromium: 今日满意率 on the wallboard after ratings,
and the agent's call-back list (a survey handed over, a missed call) with the outcome recorded."""

from __future__ import annotations

from app.calls.models import Call
from app.db import utcnow
from app.surveys.models import CallbackTask
from tests.browser import chromium, live_server, login_page, screenshot_path
from tests.conftest import make_settings
from tests.integration.test_cases_helpers import World, seed, write_rules
from tests.system.test_survey_calls import fed_back_case, survey_rules


async def test_wallboard_shows_satisfaction_rate_and_agent_works_the_call_back_list(tmp_path, sqlite_url):
    settings = make_settings(tmp_path, sqlite_url)
    write_rules(settings.var_dir)
    survey_rules(settings.var_dir, {}, tick_s=0)
    async with live_server(settings) as (app, base):
        import httpx

        async with httpx.AsyncClient(base_url=base) as client:
            w = World(app, client, await seed(app, client))
            for phone, rating in (
                ("13900002001", 1),
                ("13900002002", 1),
                ("13900002003", 2),
                ("13900002004", 3),
            ):
                n = await fed_back_case(w, phone)
                r = await client.post(
                    f"/api/cases/{n}/rating", json={"rating": rating}, headers=w.h["km.agent"]
                )
                assert r.status_code == 200, r.text
            r = await client.get("/api/stats/kpis", headers=w.h["km.sup"])
            sat = r.json()["satisfaction"]
            assert sat == {
                "rated": 4,
                "satisfied": 2,
                "basically_satisfied": 1,
                "dissatisfied": 1,
                "rate": 0.75,
            }
            r = await client.get("/api/stats/kpis", params={"platform": "dali"}, headers=w.h["prov.sup"])
            assert r.json()["satisfaction"]["rated"] == 0
        async with app.state.runtime.db.sessionmaker() as s:
            s.add(
                Call(
                    uniqueid="ab-1",
                    caller="13987112345",
                    platform="kunming",
                    outcome="abandoned",
                    arrived_at=utcnow(),
                )
            )
            s.add(
                CallbackTask(
                    kind="survey",
                    ref="99",
                    number="13900002009",
                    platform="kunming",
                    case_number="KM-TEST-0001",
                    reason="3 次回访未成功（最后一次：无人接听），转人工回拨",
                )
            )
            await s.commit()
        async with chromium() as browser:
            page = await login_page(browser, base, "km.sup")
            await page.goto(f"{base}/ui/wallboard")
            await page.wait_for_function("() => document.getElementById('k_sat').textContent.includes('%')")
            assert await page.text_content("#k_sat") == "75.0%"
            assert "满意 2 · 基本满意 1 · 不满意 1" in (await page.text_content("#k_sat_counts") or "")
            await page.screenshot(path=str(screenshot_path("survey-wallboard")))

            agent = await login_page(browser, base, "km.agent")
            await agent.goto(f"{base}/ui/agent")
            await agent.click("#cblink")
            await agent.wait_for_selector("tr[data-task]")
            text = await agent.text_content("#tasks") or ""
            assert "回访未成功" in text and "13900002009" in text and "KM-TEST-0001" in text
            assert "未接来电" in text and "13987112345" in text
            row = agent.locator("tr[data-task]", has_text="13900002009")
            await row.locator("select").select_option("reached")
            await row.locator("input.note").fill("已电话回访，市民满意")
            await row.get_by_role("button", name="登记结果").click()
            await agent.wait_for_function(
                "() => !document.getElementById('tasks').textContent.includes('13900002009')"
            )
            await agent.screenshot(path=str(screenshot_path("survey-callbacks")))
            await agent.check("#done")
            await agent.wait_for_function(
                "() => document.getElementById('tasks').textContent.includes('已电话回访')"
            )
            assert "已电话回访，市民满意" in (await agent.text_content("#tasks") or "")
