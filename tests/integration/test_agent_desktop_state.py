"""The agent desktop's state line in headless Chromium, with AMI events fed through the real consumer
(no Asterisk): an answer to 签入 that was computed before the state the socket has since pushed must not
put the page back to 未签入 (seen on a loaded machine: the agent was in the queue, taking calls, and the
desktop said 未签入)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.browser import PW_TIMEOUT_MS, chromium, live_server, login_page
from tests.conftest import add_user, make_settings
from tests.integration.test_agents_desktop import feed, member_event


async def test_an_answer_overtaken_by_a_pushed_state_does_not_put_the_desktop_back(tmp_path, sqlite_url):
    async with live_server(make_settings(tmp_path, sqlite_url)) as (app, base):
        await add_user(app, "li.agent", "agent", platform="dali", sip_endpoint="agent-1001")
        async with chromium() as browser:
            page = await login_page(browser, base, "li.agent")
            await page.wait_for_url("**/ui/agent")
            await page.wait_for_selector("#conn:has-text('已连接')", timeout=PW_TIMEOUT_MS)
            await page.wait_for_selector("#queues input:checked", timeout=PW_TIMEOUT_MS)
            # what the server answers before Asterisk has added the member: 未签入, as of now
            before = await page.evaluate("() => Hotline.api('/api/agents/me')")
            assert before["state"] == "logged_out", before

            held: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            await page.route("**/api/agents/me/login", lambda route: held.set_result(route))
            await page.click("#login")
            route = await asyncio.wait_for(held, PW_TIMEOUT_MS / 1000)
            # Asterisk's QueueMemberAdded reaches the page over the socket first…
            await feed(app, member_event("li.agent", "PJSIP/agent-1001"))
            await page.wait_for_selector("#state[data-state=available]", timeout=PW_TIMEOUT_MS)
            # …and the 签入 answer, computed before it, arrives after it
            await route.fulfill(status=200, content_type="application/json", body=json.dumps(before))
            await page.wait_for_selector("#state:not([aria-busy])", timeout=PW_TIMEOUT_MS)
            shown = (await page.get_attribute("#state", "data-state"), await page.text_content("#state"))
            assert shown == ("available", "空闲"), f"the desktop went back to {shown} after 签入"
