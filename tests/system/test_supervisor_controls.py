"""A supervisor pauses, resumes and signs out an agent from the wallboard, and Asterisk itself shows
it (queue show); the agent's own desktop follows; another prefecture's supervisor cannot."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.browser import PW_TIMEOUT_MS, chromium, login_page, screenshot_path, sign_in_agent
from tests.conftest import add_user, login
from tests.system.softphone import desk
from tests.waiting import wait_until

pytestmark = pytest.mark.system


async def test_supervisor_pauses_and_signs_out_an_agent_from_the_wallboard(tmp_path, sqlite_url, asterisk):
    async with (
        desk(tmp_path, sqlite_url, asterisk, answer_after=None) as (app, base, _phone),
        chromium() as browser,
    ):
        await add_user(app, "km.sup", "supervisor", platform="kunming")
        agent = await login_page(browser, base, "li.dali")
        await sign_in_agent(agent)
        sup = await login_page(browser, base, "zhao.dali")
        await sup.goto(f"{base}/ui/wallboard")
        row = "tr[data-agent='li.dali']"
        await sup.wait_for_selector(f"{row} .state[data-state=available]", timeout=PW_TIMEOUT_MS)

        await sup.click(f"{row} button.sup-pause")
        await sup.wait_for_selector(f"{row} .state[data-state=paused]", timeout=PW_TIMEOUT_MS)
        assert "班长暂停" in (await sup.text_content(row) or "")
        await agent.wait_for_selector("#state[data-state=paused]", timeout=PW_TIMEOUT_MS)

        async def queue_show() -> str:
            return str(await asyncio.to_thread(asterisk.sandbox.cli, "queue show q-dali"))

        shown = await wait_until(
            queue_show, 30, "Asterisk shows li.dali paused", check=lambda s: "paused" in s
        )
        assert "li.dali" in shown

        await sup.click(f"{row} button.sup-ready")
        await sup.wait_for_selector(f"{row} .state[data-state=available]", timeout=PW_TIMEOUT_MS)

        sup.on("dialog", lambda d: d.accept())  # 确定将坐席 li.dali 签出？
        await sup.click(f"{row} button.sup-logout")
        await sup.wait_for_selector(row, state="detached", timeout=PW_TIMEOUT_MS)
        await agent.wait_for_selector("#state[data-state=logged_out]", timeout=PW_TIMEOUT_MS)
        await wait_until(
            queue_show, 30, "Asterisk no longer has li.dali in q-dali",
            check=lambda s: "li.dali" not in s,
        )  # fmt: skip
        await sup.screenshot(path=screenshot_path("wallboard-supervisor-controls"), full_page=True)

        async with httpx.AsyncClient(base_url=base) as c:
            km = await login(c, "km.sup")
            r = await c.post("/api/agents/li.dali/pause", headers=km)
            assert r.status_code == 404  # another prefecture's agent does not exist for this supervisor
            ag = await login(c, "li.dali")
            assert (await c.post("/api/agents/li.dali/logout", headers=ag)).status_code == 403
