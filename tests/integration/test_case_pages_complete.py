"""Case pages complete: every transition the table allows is offered in the case page to the role
allowed to take it, and works from there (Chromium); case search by number, phone, words, status and
dates (API on SQLite and PostgreSQL, and the page); one navigation bar across the pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from app.auth.models import User
from app.cases import service
from app.cases.context import of_runtime
from app.cases.schemas import CaseCreate
from app.db import utcnow
from tests.browser import chromium, live_server, login_page, screenshot_path
from tests.conftest import make_settings
from tests.integration.test_cases_helpers import seed, world, write_rules


async def _open_case(browser: Any, base: str, user: str, number: str) -> Any:
    page = await login_page(browser, base, user)
    await page.goto(f"{base}/ui/case?n={number}")
    await page.locator("#status").wait_for()
    return page


async def _offered(page: Any) -> list[str]:
    return sorted(await page.locator("#actions button").evaluate_all("bs => bs.map(b => b.dataset.action)"))


async def _take(page: Any, action: str, status_label: str, note: str = "", **fill: str) -> None:
    await page.click(f"#actions button[data-action={action}]")
    await page.locator("#panel").wait_for(state="visible")
    for sel, value in fill.items():
        await page.select_option(f"#{sel}", value)
    if note:
        await page.fill("#note", note)
    await page.click("#confirm")
    await page.wait_for_function(
        f"() => document.getElementById('status').textContent === '{status_label}' && "
        "document.getElementById('done').textContent !== ''"
    )


async def test_every_step_of_a_case_from_the_case_page(tmp_path, sqlite_url):
    settings = make_settings(tmp_path, sqlite_url)
    write_rules(settings.var_dir)
    async with live_server(settings) as (app, base), httpx.AsyncClient(base_url=base) as client:
        h = await seed(app, client)
        r = await client.post(
            "/api/cases",
            json={"type": "complaint", "summary": "小区停水三天", "citizen_phone": "13912342345"},
            headers=h["km.agent"],
        )
        number = r.json()["case"]["number"]

        async def allowed(user: str) -> list[str]:
            return sorted(
                (await client.get(f"/api/cases/{number}", headers=h[user])).json()["allowed_actions"]
            )

        async with chromium() as browser:
            agent = await _open_case(browser, base, "km.agent", number)
            # the page offers exactly what the table allows this agent now, with the table's labels
            assert await _offered(agent) == await allowed("km.agent")
            assert {"dispatch", "answer", "transfer", "merge"} <= set(await _offered(agent))
            assert "派单" in await agent.locator("#actions").text_content()
            # one navigation bar, with the agent's pages only
            nav = await agent.locator("#nav a").all_text_contents()
            assert "工单查询" in nav and "知识库" in nav and "用户管理" not in nav and "督办看板" not in nav
            await _take(agent, "dispatch", "已派单", unit="km-water")

            unit = await _open_case(browser, base, "water.h", number)
            assert await _offered(unit) == ["return", "sign"] == await allowed("water.h")
            assert "督办看板" not in await unit.locator("#nav a").all_text_contents()
            await _take(unit, "sign", "已签收")
            assert await _offered(unit) == await allowed("water.h")
            await _take(unit, "reply", "已办结", note="已抢修管道，恢复供水")

            sup = await _open_case(browser, base, "km.sup", number)
            assert await _offered(sup) == await allowed("km.sup")
            assert {"feedback", "reject_reply"} <= set(await _offered(sup))
            # reply rejection needs a reason: refused with the reason shown, nothing changes
            await sup.click("#actions button[data-action=reject_reply]")
            await sup.locator("#panel").wait_for(state="visible")
            await sup.evaluate("() => document.getElementById('note').required = false")
            await sup.click("#confirm")
            await sup.wait_for_function(
                "() => document.getElementById('err').textContent.includes('操作失败')"
            )
            assert await sup.text_content("#status") == "已办结"
            await _take(sup, "reject_reply", "办理中", note="答复不完整，请说明停水原因")

            await unit.reload()
            await unit.locator("#status").wait_for()
            await _take(unit, "reply", "已办结", note="因主管道爆裂停水，已修复")

            await agent.reload()
            await agent.locator("#status").wait_for()
            await _take(agent, "feedback", "已反馈")
            await _take(agent, "rate", "已回访", rating="1")
            assert "满意" in await agent.locator("#facts").text_content()
            await _take(agent, "close", "已结案")

            await sup.reload()
            await sup.locator("#status").wait_for()
            assert await _offered(sup) == ["publish"] == await allowed("km.sup")
            await _take(sup, "publish", "已结案")
            assert "已公开" in await sup.locator("#facts").text_content()
            await sup.screenshot(path=str(screenshot_path("cases-case-page-closed")), full_page=True)
            history = await sup.locator("#events li").all_text_contents()
            assert len(history) == 10 and "退回重办" in " ".join(history)
        # published: the public sees it, without the citizen's number
        pub = (await client.get(f"/public/cases/{number}")).json()
        assert pub["published"] and "13912342345" not in str(pub)


async def test_case_search_api(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        ctx = of_runtime(w.runtime)
        async with w.session() as s:
            agent = await s.scalar(select(User).where(User.username == "km.agent"))
            old = await service.create_case(
                s, CaseCreate(summary="路灯不亮", detail="100%_坏了", citizen_phone="13800001111", platform="kunming"),
                agent, now=utcnow() - timedelta(days=10), ctx=ctx,
            )  # fmt: skip
            await s.commit()
        a = (await w.create(summary="小区停水三天", citizen_phone="13912342345"))["case"]
        b = (await w.create(summary="噪声扰民", detail="夜间施工停不下来", citizen_phone="13912342345"))[
            "case"
        ]
        await w.act("km.agent", b["number"], "dispatch", unit_code="km-water")

        async def numbers(who: str = "km.sup", **params: str) -> list[str]:
            r = await w.client.get("/api/cases", params=params, headers=w.h[who])
            assert r.status_code == 200, r.text
            return sorted(c["number"] for c in r.json()["items"])

        assert await numbers(q="停水") == [a["number"]]
        assert await numbers(q="停") == sorted([a["number"], b["number"]])  # summary or detail
        assert await numbers(q="停 施工") == [b["number"]]  # every word
        assert await numbers(q="100%_") == [old.number]  # % and _ are literal
        assert await numbers(q="%") == [old.number]
        assert await numbers(citizen_phone="13912342345") == sorted([a["number"], b["number"]])
        assert await numbers(status="dispatched") == [b["number"]]
        assert await numbers(number=a["number"]) == [a["number"]]
        assert await numbers(number=a["number"][:3]) == sorted([a["number"], b["number"], old.number])
        today = (utcnow() + timedelta(hours=8)).date()
        assert await numbers(created_from=today.isoformat()) == sorted([a["number"], b["number"]])
        assert await numbers(created_to=(today - timedelta(days=1)).isoformat()) == [old.number]
        # another platform sees none of them; a unit sees only its own and never searches by phone
        assert await numbers("dl.agent", q="停") == []
        assert await numbers("water.h", q="停") == [b["number"]]
        r = await w.client.get("/api/cases", params={"citizen_phone": "13912342345"}, headers=w.h["water.h"])
        assert r.status_code == 403
        # bad input: a clear refusal
        r = await w.client.get("/api/cases", params={"status": "nonsense"}, headers=w.h["km.sup"])
        assert r.status_code == 422 and "status" in r.text
        r = await w.client.get(
            "/api/cases",
            params={"created_from": "2026-02-01", "created_to": "2026-01-01"},
            headers=w.h["km.sup"],
        )
        assert r.status_code == 422
        for bad in ({"limit": "0"}, {"limit": "501"}, {"offset": "-1"}, {"number": "K" * 33}, {"q": "停" * 201},
                    {"created_from": "yesterday"}, {"overdue": "maybe"}):  # fmt: skip
            r = await w.client.get("/api/cases", params=bad, headers=w.h["km.sup"])
            assert r.status_code == 422, (bad, r.text)
            assert next(iter(bad)) in r.text  # the refusal names the parameter
        page = (await w.client.get("/api/cases", params={"limit": "1", "offset": "1"}, headers=w.h["km.sup"])).json()
        assert len(page["items"]) == 1 and page["total"] == 3


async def test_case_search_page(tmp_path, sqlite_url):
    settings = make_settings(tmp_path, sqlite_url)
    write_rules(settings.var_dir)
    async with live_server(settings) as (app, base), httpx.AsyncClient(base_url=base) as client:
        h = await seed(app, client)
        numbers = []
        for summary in ("小区停水三天", "噪声扰民", "停车难"):
            r = await client.post(
                "/api/cases", json={"summary": summary, "citizen_phone": "13912342345"}, headers=h["km.agent"]
            )
            numbers.append(r.json()["case"]["number"])
        await client.post(
            f"/api/cases/{numbers[1]}/transitions",
            json={"action": "dispatch", "unit_code": "km-water"},
            headers=h["km.agent"],
        )
        async with chromium() as browser:
            page = await login_page(browser, base, "km.sup")
            await page.goto(f"{base}/ui/search")
            await page.locator("#status option[value=dispatched]").wait_for(state="attached")
            await page.fill("#q", "停")
            await page.click("#go")
            await page.wait_for_function("() => document.getElementById('total').textContent === '共 2 件'")
            rows = await page.locator("#rows tr").evaluate_all("rs => rs.map(r => r.dataset.number).sort()")
            assert rows == sorted([numbers[0], numbers[2]])
            await page.fill("#q", "")
            await page.select_option("#status", "dispatched")
            await page.click("#go")
            await page.wait_for_function("() => document.getElementById('total').textContent === '共 1 件'")
            assert await page.locator("#rows tr .status").all_text_contents() == ["已派单"]
            assert await page.locator("#nav a[aria-current=page]").text_content() == "工单查询"
            await page.screenshot(path=str(screenshot_path("cases-search")), full_page=True)
            # the number opens the case page
            await page.click(f"#rows tr[data-number='{numbers[1]}'] a")
            await page.wait_for_url(f"**/ui/case?n={numbers[1]}")
            await page.locator("#status").wait_for()
            assert await page.text_content("#status") == "已派单"
            # a unit handler has no phone field
            unit = await login_page(browser, base, "water.h")
            await unit.goto(f"{base}/ui/search")
            await unit.locator("#status option[value=dispatched]").wait_for(state="attached")
            assert await unit.locator("#phone").is_hidden()
