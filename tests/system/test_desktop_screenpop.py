"""The agent desktop and the wallboard with the real sandbox Asterisk, a real softphone (baresip as
agent-1001, answering 3 s after it rings) and the real pages in headless Chromium."""

from __future__ import annotations

import asyncio

import pytest

from app.simcall import place_call
from tests.browser import PW_TIMEOUT_MS, chromium, login_page, screenshot_path, sign_in_agent
from tests.system.softphone import DALI_MOBILE, AmiWatch, desk

pytestmark = pytest.mark.system


async def test_dali_call_pops_on_the_dali_agent_and_counts_on_the_wallboard(tmp_path, db_url, asterisk):
    async with (
        desk(tmp_path, db_url, asterisk, answer_after=3.0) as (app, base, phone),
        AmiWatch(asterisk) as ami,
        chromium() as browser,
    ):
        agent = await login_page(browser, base, "li.dali")
        await agent.wait_for_url("**/ui/agent")
        await agent.wait_for_selector("#conn:has-text('已连接')")
        assert await agent.text_content("#state") == "未签入"
        await sign_in_agent(agent)
        assert await agent.text_content("#state") == "空闲"

        sup = await login_page(browser, base, "zhao.dali")
        await sup.wait_for_url("**/ui/wallboard")
        await sup.wait_for_selector(
            "tr[data-agent='li.dali'] .state[data-state=available]", timeout=PW_TIMEOUT_MS
        )
        await sup.wait_for_selector("#k_offered:text-is('0')")

        call = await place_call(asterisk.server, DALI_MOBILE, hangup=False, hold_s=8, as_citizen=True)
        assert call.queue == "q-dali", call

        # the screen-pop is on the agent's page while the phone still rings (before AgentConnect)
        await agent.wait_for_selector(f"#pcaller:text-is('{DALI_MOBILE}')", timeout=PW_TIMEOUT_MS)
        assert not [e for e in ami.events if e.get("Event") == "AgentConnect"], "answered before the pop"
        assert await agent.text_content("#popstate") == "振铃中"
        assert "大理" in (await agent.text_content("#pregion") or "")
        assert (await agent.text_content("#pwait") or "").endswith("秒")
        assert await agent.input_value("#f_phone") == DALI_MOBILE
        assert await agent.input_value("#f_channel") == "phone"
        assert "大理" in await agent.input_value("#f_pref")
        # …and the supervisor sees the caller waiting in q-dali, number masked
        await sup.wait_for_selector(
            "tr[data-queue='q-dali'] .caller:has-text('139****2345')", timeout=PW_TIMEOUT_MS
        )
        assert await sup.text_content("tr[data-queue='q-dali'] .waiting") == "1"
        await agent.screenshot(path=str(screenshot_path("agent-desktop-ringing")))

        # the phone answers: the form is bound to the call; both pages show the agent talking
        await ami.wait_for(lambda e: e.get("Event") == "AgentConnect" and e.get("Uniqueid") == call.uniqueid)
        await agent.wait_for_selector(f"#bound:has-text('{call.uniqueid}')", timeout=PW_TIMEOUT_MS)
        await agent.wait_for_selector("#state[data-state=on_call]", timeout=PW_TIMEOUT_MS)
        assert await agent.text_content("#popstate") == "通话中"
        await sup.wait_for_selector(
            "tr[data-agent='li.dali'] .state[data-state=on_call]", timeout=PW_TIMEOUT_MS
        )
        assert await sup.text_content("tr[data-queue='q-dali'] .waiting") == "0"
        await sup.screenshot(path=str(screenshot_path("wallboard-talking")))

        # the agent saves a case: it is created with the call linked (case domain: app/cases)
        await agent.fill("#f_name", "张先生")
        await agent.fill("#f_summary", "咨询大理市居住证办理材料")
        await agent.click("#save")
        await agent.wait_for_selector("#saved:has-text('已保存工单')", timeout=PW_TIMEOUT_MS)
        assert "已关联通话" in (await agent.text_content("#saved") or "")

        # the citizen hangs up after SIM_HOLD: one answered call in today's KPIs; wrap-up, then ready
        await sup.wait_for_selector("#k_answered:text-is('1')", timeout=PW_TIMEOUT_MS)
        assert await sup.text_content("#k_offered") == "1"
        assert await sup.text_content("#k_rate") == "100.0%"
        assert await sup.text_content("#k_15s") == "100.0%"
        await agent.wait_for_selector("#state[data-state=wrapup]", timeout=PW_TIMEOUT_MS)
        assert await agent.text_content("#state") == "话后处理"
        await agent.wait_for_selector("#state[data-state=available]", timeout=PW_TIMEOUT_MS)
        await agent.wait_for_selector(f"#mycalls td:text-is('{DALI_MOBILE}')", timeout=PW_TIMEOUT_MS)
        await agent.screenshot(path=str(screenshot_path("agent-desktop-after-call")))
        await sup.screenshot(path=str(screenshot_path("wallboard-after-call")))


async def test_abandoned_call_is_called_back_from_the_agent_phone(tmp_path, db_url, asterisk):
    async with (
        desk(tmp_path, db_url, asterisk, answer_after=1.0) as (app, base, phone),
        AmiWatch(asterisk) as ami,
        chromium() as browser,
    ):
        agent = await login_page(browser, base, "li.dali")
        await sign_in_agent(agent)
        await agent.select_option("#reason", "会议")
        await agent.click("#pause")
        await agent.wait_for_selector("#state[data-state=paused]", timeout=PW_TIMEOUT_MS)
        assert await agent.text_content("#state") == "小休（会议）"

        sup = await login_page(browser, base, "wang.prov")
        await sup.wait_for_selector(
            "tr[data-agent='li.dali'] .state[data-state=paused]", timeout=PW_TIMEOUT_MS
        )
        # nobody free in Dali: the caller waits (in the provincial pool) and gives up
        call = await place_call(asterisk.server, DALI_MOBILE, hangup=True, as_citizen=True)
        assert call.queue is not None, call
        row = f"#abandoned tr[data-uid='{call.uniqueid}']"
        await sup.wait_for_selector(row, timeout=PW_TIMEOUT_MS)
        assert "139****2345" in (await sup.text_content(row) or "")
        await sup.wait_for_selector("#k_abandoned:text-is('1')", timeout=PW_TIMEOUT_MS)

        await agent.click("#ready")
        await sup.wait_for_selector(
            "tr[data-agent='li.dali'] .state[data-state=available]", timeout=PW_TIMEOUT_MS
        )
        await sup.click(f"{row} button.callback")
        # Asterisk rings the agent's phone, which answers, then dials the citizen's (simulated) phone
        dial = await ami.wait_for(
            lambda e: (
                e.get("Event") == "DialEnd"
                and e.get("DestChannel", "").startswith(f"Local/{DALI_MOBILE}@hotline-sim-citizen")
            )
        )
        assert dial["DialStatus"] == "ANSWER" and dial["Channel"].startswith("PJSIP/agent-1001")
        await sup.wait_for_selector(f"{row} .cbstatus:has-text('已接通')", timeout=PW_TIMEOUT_MS)
        await sup.screenshot(path=str(screenshot_path("wallboard-callback")))
        await asyncio.sleep(0)
