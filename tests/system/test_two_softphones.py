"""Two real agents, two real phones: baresip registered as agent-1001 and agent-1002, both Dali agents
signed in and free on their desktops in headless Chromium. A Dali citizen calls; Asterisk's queue
(rrmemory) rings ONE of the phones — which one is read from that baresip's own CALL_INCOMING event,
not assumed. The screen-pop arrives on that agent's page and WebSocket only: the other agent's page
shows nothing and its socket never receives the call (number, uniqueid, or any screenpop message)."""

from __future__ import annotations

import asyncio
import json
import socket
from contextlib import AsyncExitStack
from typing import Any

import pytest

from app.simcall import place_call
from tests.browser import PW_TIMEOUT_MS, chromium, live_server, login_page, screenshot_path, sign_in_agent
from tests.conftest import add_user
from tests.system.conftest import backend_settings
from tests.system.softphone import (
    DALI_MOBILE,
    AmiWatch,
    Softphone,
    _free,
    clear_queues,
    free_sip_port,
    open_all_day_config,
)
from tests.waiting import wait_until

pytestmark = pytest.mark.system

HOLD_S = 8  # the simulated citizen hangs up this long after its call starts (SIM_HOLD)
AGENTS = {  # user → (endpoint, SIP password) as configured in the session's sandbox Asterisk
    "li.dali": ("agent-1001", "softphone-pw-1001"),
    "chen.dali": ("agent-1002", "softphone-pw-1002"),
}


def _messages(frames: list[str | bytes]) -> list[dict[str, Any]]:
    out = []
    for f in frames:
        try:
            msg = json.loads(f)
        except (TypeError, ValueError):
            continue
        if isinstance(msg, dict):
            out.append(msg)
    return out


def _rang(phone: Softphone) -> bool:
    return any(e.get("type") == "CALL_INCOMING" for e in phone.events)


async def test_the_pop_goes_only_to_the_agent_whose_phone_rings(tmp_path, db_url, asterisk):
    settings = backend_settings(
        tmp_path, db_url, asterisk, platform_config=open_all_day_config(tmp_path), wrapup_s=15
    )
    phones = {
        user: Softphone(
            tmp_path,
            ep,
            pw,
            asterisk.sip_port,
            local_port=free_sip_port(),
            ctrl_port=_free(socket.SOCK_STREAM),
            answer_after=3.0,
        )  # fmt: skip
        for user, (ep, pw) in AGENTS.items()
    }
    frames: dict[str, list[str | bytes]] = {user: [] for user in AGENTS}
    async with AsyncExitStack() as stack:
        for phone in phones.values():
            phone.start()
            stack.callback(phone.stop)
        for phone in phones.values():
            await asyncio.to_thread(phone.wait_registered, asterisk.sandbox.cli)
        app, base = await stack.enter_async_context(live_server(settings))
        for user, (ep, _) in AGENTS.items():
            await add_user(app, user, "agent", platform="dali", sip_endpoint=ep, display_name=user)
        stack.push_async_callback(clear_queues, app)
        ami = await stack.enter_async_context(AmiWatch(asterisk))
        browser = await stack.enter_async_context(chromium())

        pages = {}
        for user in AGENTS:
            page = await login_page(browser, base, user, ws_frames=frames[user])
            await page.wait_for_url("**/ui/agent")
            await page.wait_for_selector("#conn:has-text('已连接')")
            await sign_in_agent(page)
            pages[user] = page
        # both are members of q-dali, free, and Asterisk knows it
        await wait_until(
            lambda: all(ep in asterisk.sandbox.cli("queue show q-dali") for ep, _ in AGENTS.values()),
            10,
            "both phones as members of q-dali",
        )

        call = await place_call(asterisk.server, DALI_MOBILE, hangup=False, hold_s=HOLD_S)
        assert call.queue == "q-dali", call
        rung = await wait_until(
            lambda: [u for u, p in phones.items() if _rang(p)], 15, "one of the two softphones to ring"
        )
        assert len(rung) == 1, f"both phones rang (rrmemory rings one): {rung}"
        (user,) = rung
        (other,) = [u for u in AGENTS if u != user]

        # the rung agent's page pops while the phone rings, before anyone answered
        await pages[user].wait_for_selector(f"#pcaller:text-is('{DALI_MOBILE}')", timeout=PW_TIMEOUT_MS)
        assert not [e for e in ami.events if e.get("Event") == "AgentConnect"], "answered before the pop"
        assert await pages[user].text_content("#popstate") == "振铃中"
        # the phone answers; the call is bound on that page
        endpoint = AGENTS[user][0]
        connect = await ami.wait_for(
            lambda e: e.get("Event") == "AgentConnect" and e.get("Uniqueid") == call.uniqueid
        )
        assert endpoint in (connect.get("Interface", "") + connect.get("DestChannel", "")), connect
        await pages[user].wait_for_selector(f"#bound:has-text('{call.uniqueid}')", timeout=PW_TIMEOUT_MS)
        # …and the call ends (the citizen hangs up HOLD_S s after calling): the rung agent goes to wrap-up
        # (AgentComplete, then the backend pauses the member and Asterisk's QueueMemberPause comes back)
        try:
            await pages[user].wait_for_selector(
                "#state[data-state=wrapup]", timeout=HOLD_S * 1000 + PW_TIMEOUT_MS
            )
        except Exception as e:
            said = [
                {k: v for k, v in ev.items() if k in ("Event", "Uniqueid", "Interface", "Reason", "Paused")}
                for ev in ami.events
                if ev.get("Event") in ("AgentComplete", "QueueMemberPause", "Hangup")
            ]
            shown = await pages[user].text_content("#state")
            raise AssertionError(f"the rung agent's desktop never showed 话后处理: it showed {shown!r}; "
                                 f"Asterisk said {said}") from e  # fmt: skip
        await pages[other].screenshot(path=str(screenshot_path("two-phones-other-agent")))
        await pages[user].screenshot(path=str(screenshot_path("two-phones-rung-agent")))

        # the other phone never rang, and the other agent saw nothing of the call
        assert not _rang(phones[other]), phones[other].events
        assert (await pages[other].text_content("#pcaller") or "").strip() in ("", "—", "-")
        assert await pages[other].get_attribute("#state", "data-state") == "available"
        mine, theirs = _messages(frames[user]), _messages(frames[other])
        pops = [m for m in mine if m.get("type") == "screenpop"]
        assert [p["uniqueid"] for p in pops] == [call.uniqueid] and pops[0]["caller"] == DALI_MOBILE
        assert any(m.get("type") == "bound" and m.get("uniqueid") == call.uniqueid for m in mine)
        assert theirs, "the other agent's socket received nothing at all (not even its state)"
        assert not [m for m in theirs if m.get("type") in ("screenpop", "bound", "complete")], theirs
        raw = "".join(f if isinstance(f, str) else f.decode(errors="replace") for f in frames[other])
        assert DALI_MOBILE not in raw and call.uniqueid not in raw
