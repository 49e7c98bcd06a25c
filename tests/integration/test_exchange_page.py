"""The administrator's 平台对接 page in headless Chromium: a peer that is down shows as 不可达 with its
undelivered message; the administrator cancels it and sends it again from the page; a pull of its
knowledge by hand says it is unreachable."""

from __future__ import annotations

import httpx

from tests.browser import chromium, live_server, login_page, screenshot_path
from tests.conftest import make_settings
from tests.exchange_helpers import key
from tests.integration.test_cases_helpers import seed, write_rules


async def test_admin_sees_a_peer_down_and_cancels_and_retries_in_the_page(tmp_path, sqlite_url):
    settings = make_settings(
        tmp_path, sqlite_url, exchange_node="km-node", exchange_platforms=["kunming"],
        exchange_retry_base_s=0.2, exchange_retry_max_s=0.5, exchange_poll_s=0.1,
        exchange_peers=[{"name": "prov-node", "url": "http://127.0.0.1:9", "platforms": ["province"],
                         "keys": [key("km-prov-1")]}],
    )  # fmt: skip
    write_rules(settings.var_dir)
    async with live_server(settings) as (app, base):
        async with httpx.AsyncClient(base_url=base) as client:
            h = await seed(app, client)
            r = await client.post("/api/cases", json={"summary": "跨州市事项"}, headers=h["km.agent"])
            n = r.json()["case"]["number"]
            r = await client.post(
                f"/api/cases/{n}/transitions",
                json={"action": "hand_over", "target_platform": "province", "note": "请省平台协调"},
                headers=h["km.agent"],
            )
            assert r.status_code == 200, r.text
        async with chromium() as browser:
            page = await login_page(browser, base, "root")
            await page.goto(f"{base}/ui/exchange")
            await page.wait_for_function("() => document.getElementById('node').textContent.includes('km-node')")
            peer = page.locator("#peers tr[data-peer='prov-node']")
            # the worker has tried and failed: reload until the page shows the peer unreachable
            for _ in range(60):
                if "不可达" in await peer.inner_text():
                    break
                await page.click("#reload")
                await page.wait_for_load_state("networkidle")
            assert "不可达" in await peer.inner_text() and "km-prov-1" in await peer.inner_text()
            row = page.locator("#msgs tr", has_text=n)
            assert "待发送" in await row.inner_text()
            await row.locator("button.cancel").click()
            await page.wait_for_function("() => document.getElementById('ok').textContent.includes('已取消')")
            row = page.locator("#msgs tr", has_text=n)
            assert "已取消" in await row.inner_text()
            await row.locator("button.retry").click()
            await page.wait_for_function("() => document.getElementById('ok').textContent.includes('重新发送')")
            assert "待发送" in await page.locator("#msgs tr", has_text=n).inner_text()

            # the shared knowledge: pulled by hand only here; the peer is down, and the page says so
            kb = page.locator("#kb tr[data-peer='prov-node']")
            assert "仅手动" in await kb.inner_text() and "0" in await kb.locator(".copies").inner_text()
            await kb.locator("button.sync").click()
            await page.wait_for_function("() => document.getElementById('err').textContent.includes('知识同步失败')")
            assert "prov-node 不可达" in await page.locator("#err").inner_text()
            # recorded: the table, read again after the pull, shows it too
            await page.wait_for_function("() => document.querySelector('#kb td.err').textContent.includes('不可达')")
            await page.screenshot(path=str(screenshot_path("exchange-admin")), full_page=True)
