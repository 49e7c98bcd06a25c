"""The 移交 page in headless Chromium: Kunming hands a case to the province, the province accepts it in
its page, and Kunming's page shows the hand-over accepted and the case's status at the province."""

from __future__ import annotations

import httpx

from tests.browser import chromium, live_server, login_page, screenshot_path
from tests.conftest import make_settings
from tests.integration.test_cases_helpers import seed, write_rules


async def test_hand_over_and_accept_in_the_pages(tmp_path, sqlite_url):
    settings = make_settings(tmp_path, sqlite_url)
    write_rules(settings.var_dir)
    async with live_server(settings) as (app, base):
        async with httpx.AsyncClient(base_url=base) as client:
            h = await seed(app, client)
            r = await client.post(
                "/api/cases",
                json={"summary": "跨州市客运班线停运", "type": "complaint", "citizen_phone": "13912342345"},
                headers=h["km.agent"],
            )
            n = r.json()["case"]["number"]
        async with chromium() as browser:
            km = await login_page(browser, base, "km.agent")
            await km.goto(f"{base}/ui/handovers")
            await km.wait_for_function("() => document.getElementById('pname').textContent === '昆明'")
            # a prefecture may hand over to the province only
            assert await km.locator("#target option").all_text_contents() == ["省平台"]
            await km.fill("#num", n)
            await km.fill("#reason", "涉及跨州市客运，请省平台协调")
            await km.click("#send")
            await km.wait_for_function(
                "() => document.getElementById('ok').textContent.includes('移交待接收')"
            )
            row = km.locator(f"#outgoing tr[data-n='{n}']")
            assert "待接收" in await row.inner_text()

            prov = await login_page(browser, base, "prov.sup")
            await prov.goto(f"{base}/ui/handovers")
            inc = prov.locator("#incoming tr", has_text=n)
            await inc.wait_for()
            assert (
                "涉及跨州市客运，请省平台协调" in await inc.inner_text() and "昆明" in await inc.inner_text()
            )
            await inc.locator("button.acc").click()
            await prov.wait_for_function("() => document.getElementById('ok').textContent.includes('已受理')")
            await prov.wait_for_function(
                "() => document.getElementById('incoming').textContent.includes('暂无待接收')"
            )

            await km.click("#reload")
            await km.wait_for_function(
                f"() => document.querySelector(\"#outgoing tr[data-n='{n}']\").textContent.includes('已接收')"
            )
            text = await row.inner_text()
            assert "省平台" in text and "已受理" in text
            await row.locator("a.num").click()
            await km.wait_for_function(
                "() => document.getElementById('trail').textContent.includes('接收移交')"
            )
            trail = await km.locator("#trail li").all_text_contents()
            assert [t.split()[-1].split("：")[0] for t in trail] == ["受理", "移交", "接收移交"]
            await km.screenshot(path=str(screenshot_path("cases-handover-sender")), full_page=True)
