"""Restart Asterisk under a live wallboard: within 5 s it is right again (calls that died are gone,
the agent is back in their queue with the pause they had), because state is rebuilt from Asterisk
after every reconnect and agents' sessions are re-applied."""

from __future__ import annotations

import asyncio
import time

import pytest

from app.simcall import place_call
from tests.browser import chromium, login_page, screenshot_path
from tests.system.softphone import DALI_MOBILE, desk

pytestmark = pytest.mark.system


async def test_wallboard_is_right_within_5s_after_asterisk_restart(tmp_path, sqlite_url, asterisk):
    async with (
        desk(tmp_path, sqlite_url, asterisk, answer_after=None) as (app, base, phone),
        chromium() as browser,
    ):
        agent = await login_page(browser, base, "li.dali")
        await agent.click("#login")
        await agent.wait_for_selector("#state[data-state=available]", timeout=5000)
        await agent.select_option("#reason", "培训")
        await agent.click("#pause")
        await agent.wait_for_selector("#state[data-state=paused]", timeout=5000)
        sup = await login_page(browser, base, "wang.prov")
        await sup.wait_for_selector("tr[data-agent='li.dali'] .state[data-state=paused]", timeout=5000)
        # a caller waits in the provincial pool (nobody free in Dali)
        call = await place_call(asterisk.server, DALI_MOBILE, hangup=False, hold_s=60)
        assert call.queue == "q-province", call
        await sup.wait_for_selector("tr[data-queue='q-province'] .waiting:text-is('1')", timeout=3000)

        await asyncio.to_thread(asterisk.sandbox.restart)
        t0 = time.monotonic()
        # the dead call is no longer shown waiting, and the agent is back, still paused for 培训
        await sup.wait_for_selector("tr[data-queue='q-province'] .waiting:text-is('0')", timeout=5000)
        await sup.wait_for_selector("tr[data-agent='li.dali'] .state[data-state=paused]", timeout=5000)
        # …and that is Asterisk's own view, not a stale one: the backend logged in again, resynced,
        # and re-added the member (Asterisk forgets dynamic members when it restarts)
        tel = app.state.runtime.components["telephony"]
        while tel.connections["main"].logins < 2 or "li.dali" not in asterisk.sandbox.cli(
            "queue show q-dali"
        ):
            assert time.monotonic() - t0 < 5.0, "not resynchronised within 5 s"
            await asyncio.sleep(0.05)
        assert "paused:培训" in asterisk.sandbox.cli("queue show q-dali").replace(" ", "")
        elapsed = time.monotonic() - t0
        assert elapsed < 5.0, elapsed
        assert "培训" in (await sup.text_content("tr[data-agent='li.dali']") or "")
        await agent.wait_for_selector("#state:text-is('小休（培训）')", timeout=3000)
        members = [m for q in tel.state.queues.values() for m in q.members.values()]
        assert [(m.queue, m.name, m.paused, m.reason) for m in members] == [
            ("q-dali", "li.dali", True, "培训")
        ]
        await sup.screenshot(path=str(screenshot_path("wallboard-after-asterisk-restart")))
        print(f"wallboard right again {elapsed:.2f} s after Asterisk was back")
