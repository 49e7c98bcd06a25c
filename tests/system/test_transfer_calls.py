"""Live transfer from the agent desktop, with the real sandbox Asterisk, two real softphones (baresip:
agent-1001 for a Dali agent, agent-1002 for a provincial agent) and both desktops in headless Chromium.

- Blind transfer to the province's queue: the provincial agent's phone rings and their page pops with
  the caller, the region, the case taken so far and the Dali agent's note; the call record shows both
  legs and the case follows the call.
- A colleague whose phone is unreachable: the caller comes back to the transferring agent's phone and
  the desktop says so.
- Attended: the Dali agent talks to the provincial agent first, then completes; and a caller who
  hangs up during the consultation leaves both agents free and the record complete."""

from __future__ import annotations

from contextlib import AsyncExitStack

import httpx
import pytest

from tests.browser import PW_TIMEOUT_MS, screenshot_path
from tests.conftest import login
from tests.system.softphone import (
    DALI_MOBILE,
    AmiWatch,
)
from tests.system.transfer_desk import (
    _answered_by_li,
    _desks,
    _file_case,
    _legs,
    _popped_with_case,
    _rang,
    _see,
    _talking,
    _transfer,
    _wrapup,
)
from tests.waiting import wait_until

pytestmark = pytest.mark.system


async def test_blind_transfer_to_the_province_pops_with_the_case_and_an_unreachable_colleague_returns_the_caller(
    tmp_path, db_url, asterisk
):
    async with AsyncExitStack() as stack:
        app, base, phones, pages = await _desks(stack, tmp_path, db_url, asterisk)
        li, wu = pages["li.dali"], pages["wu.prov"]
        ami = await stack.enter_async_context(AmiWatch(asterisk))

        call = await _answered_by_li(asterisk, ami, pages, app=app, phones=phones)
        # the Dali agent starts the case, then hands the call to the province with a note
        number = await _file_case(li, "跨州市医保转移接续咨询")
        await _transfer(li, "queue", "q-province", "blind", "涉及省级部门，请省平台受理")

        # the provincial agent's phone rings and the page pops with the caller, region, case and note
        await _popped_with_case(wu, number, "涉及省级部门，请省平台受理")
        assert "li.dali" in (await wu.text_content("#pxfer") or "")
        assert "跨州市医保转移接续咨询" in (await wu.text_content("#pxcase") or "")
        await wu.screenshot(path=str(screenshot_path("transfer-receiving-agent")))
        # the transferring agent is free at once, and learns who answered
        await _see(li, app, "对方已接听")
        assert "wu.prov" in (await li.text_content("#xfermsg") or "")
        await wu.wait_for_selector(f"#bound:has-text('{call.uniqueid}')", timeout=PW_TIMEOUT_MS)

        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            h = await login(client, "wu.prov")
            rec = await _legs(client, h, call.uniqueid, lambda r: len(r["legs"]) == 2 and r["agent"] == "wu.prov")
            assert rec["legs"][0]["agent"] == "li.dali"
            leg = rec["legs"][1]
            assert (leg["kind"], leg["target"], leg["status"], leg["answered_by"]) == (
                "queue", "q-province", "answered", "wu.prov"
            )
            assert leg["case_number"] == number and leg["note"] == "涉及省级部门，请省平台受理"

        # a second call: the colleague's phone is unreachable → the caller comes back to li's phone
        await ami.conn.action({"Action": "Hangup", "Channel": call.channel})
        await li.wait_for_selector("#state[data-state=available]", timeout=PW_TIMEOUT_MS)
        rang_before = _rang(phones["li.dali"])
        call2 = await _answered_by_li(asterisk, ami, pages, app=app, phones=phones)
        await _transfer(li, "agent", "zhou.km", "blind", "请昆明同事处理")
        await _see(li, app, "来电已回到您")
        assert "对方不可达" in (await li.text_content("#xfermsg") or "")
        assert _rang(phones["li.dali"]) == rang_before + 2  # the call, then the call coming back
        await li.screenshot(path=str(screenshot_path("transfer-returned")))
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            h = await login(client, "li.dali")
            rec = await _legs(client, h, call2.uniqueid, lambda r: len(r["legs"]) == 2)
            assert rec["legs"][1]["status"] == "returned" and rec["legs"][1]["target"] == "zhou.km"
        await ami.conn.action({"Action": "Hangup", "Channel": call2.channel})


async def test_attended_transfer_completes_and_a_caller_hanging_up_mid_consultation_frees_both(
    tmp_path, db_url, asterisk
):
    async with AsyncExitStack() as stack:
        app, base, phones, pages = await _desks(stack, tmp_path, db_url, asterisk)
        li, wu = pages["li.dali"], pages["wu.prov"]
        ami = await stack.enter_async_context(AmiWatch(asterisk))

        call = await _answered_by_li(asterisk, ami, pages, app=app, phones=phones)
        await _transfer(li, "agent", "wu.prov", "attended", "先和您说明情况")
        await _see(li, app, "对方已接听")
        await wu.wait_for_selector(f"#pcaller:text-is('{DALI_MOBILE}')", timeout=PW_TIMEOUT_MS)
        assert "先和您说明情况" in (await wu.text_content("#pxfer") or "")
        await li.click("#x_complete")
        await _see(li, app, "已完成")
        # caller and provincial agent are bridged; the Dali agent's phone is free
        await ami.wait_for(
            lambda e: e.get("Event") == "BridgeEnter" and e.get("Uniqueid") == call.uniqueid
            and any(x.get("Event") == "BridgeEnter" and "agent-1002" in x.get("Channel", "")
                    and x.get("BridgeUniqueid") == e.get("BridgeUniqueid") for x in ami.events),
            30,
        )  # fmt: skip
        await ami.conn.action({"Action": "Hangup", "Channel": call.channel})
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            h = await login(client, "li.dali")
            rec = await _legs(client, h, call.uniqueid, lambda r: len(r["legs"]) == 2)
            assert (rec["legs"][1]["mode"], rec["legs"][1]["status"]) == ("attended", "completed")

        # the Dali agent goes through wrap-up after the completed transfer, then is free again (they
        # stayed 话后处理 for good once: the unpause waited for the state to show our own pause)
        await ami.wait_for(lambda e: _wrapup(e, "agent-1001", "1"), 30)
        await ami.wait_for(lambda e: _wrapup(e, "agent-1001", "0"), 30)

        # the caller hangs up while the agents consult: both agents free, the record complete
        try:
            await li.wait_for_selector("#state[data-state=available]", timeout=PW_TIMEOUT_MS)
        except Exception as e:
            chans = asterisk.sandbox.cli("core show channels concise")
            raise AssertionError(f"li shows {await li.text_content('#state')!r}; channels {chans}") from e
        call2 = await _answered_by_li(asterisk, ami, pages, app=app, phones=phones)
        await _transfer(li, "agent", "wu.prov", "attended", "咨询")
        await _see(li, app, "对方已接听")
        await ami.conn.action({"Action": "Hangup", "Channel": call2.channel})
        await _see(li, app, "来电方已挂机")

        def busy() -> list[str]:
            out = asterisk.sandbox.cli("core show channels concise")
            return [line for line in out.splitlines() if "agent-1001" in line or "agent-1002" in line]

        await wait_until(busy, 30, "both agents' phones to be free", check=lambda b: b == [])
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            h = await login(client, "li.dali")
            rec = await _legs(client, h, call2.uniqueid, lambda r: r["legs"][-1].get("ended_at") is not None)
            assert rec["legs"][1]["status"] == "abandoned" and rec["outcome"] == "completed"


async def test_attended_transfer_to_another_platforms_queue_pops_the_case_and_completes(tmp_path, db_url, asterisk):
    """Consult the province's queue first: its agent's phone rings with the Dali case on their screen,
    they answer, the Dali agent completes; the caller talks to the provincial agent. Then cancel (li is
    back with the caller) and a caller hanging up mid-consultation (both agents free)."""
    async with AsyncExitStack() as stack:
        app, base, phones, pages = await _desks(stack, tmp_path, db_url, asterisk)
        li, wu = pages["li.dali"], pages["wu.prov"]
        ami = await stack.enter_async_context(AmiWatch(asterisk))

        call = await _answered_by_li(asterisk, ami, pages, app=app, phones=phones)
        number = await _file_case(li, "跨州市社保关系转移")
        await _transfer(li, "queue", "q-province", "attended", "已核实身份，需省人社厅答复")

        # the province's queue rings its agent while the caller holds; the page pops with the case
        await _popped_with_case(wu, number, "已核实身份，需省人社厅答复")
        assert "咨询转接" in (await wu.text_content("#pxfer") or "")
        await _see(li, app, "对方已接听")
        assert "wu.prov" in (await li.text_content("#xfermsg") or "")
        await li.click("#x_complete")
        await _see(li, app, "已完成")
        # the caller talks to the provincial agent (through the consultation's Local pair); li is gone
        await wait_until(lambda: _talking(asterisk.sandbox.cli, call.channel, "PJSIP/agent-1002"), 30,
                         "the caller bridged with the provincial agent")  # fmt: skip
        await ami.wait_for(lambda e: _wrapup(e, "agent-1001", "1"), 30)
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            h = await login(client, "li.dali")
            rec = await _legs(client, h, call.uniqueid, lambda r: len(r["legs"]) == 2)
            leg = rec["legs"][1]
            assert (leg["mode"], leg["kind"], leg["target"], leg["status"], leg["answered_by"]) == (
                "attended", "queue", "q-province", "completed", "wu.prov"
            )
            assert leg["case_number"] == number
        await ami.conn.action({"Action": "Hangup", "Channel": call.channel})

        def phones_busy() -> list[str]:
            out = asterisk.sandbox.cli("core show channels concise")
            return [line for line in out.splitlines() if "agent-1001" in line or "agent-1002" in line]

        # cancel: the provincial agent answered the consultation; li goes back to the caller
        await wait_until(phones_busy, 30, "both phones free", check=lambda b: b == [])
        await li.wait_for_selector("#state[data-state=available]", timeout=PW_TIMEOUT_MS)
        await wu.wait_for_selector("#state[data-state=available]", timeout=PW_TIMEOUT_MS)
        call2 = await _answered_by_li(asterisk, ami, pages, app=app, phones=phones)
        await _transfer(li, "queue", "q-province", "attended", "先咨询，可能取消")
        await _see(li, app, "对方已接听")
        await li.click("#x_cancel")
        await _see(li, app, "已取消")
        await wait_until(lambda: _talking(asterisk.sandbox.cli, call2.channel, "PJSIP/agent-1001"), 30,
                         "the caller back with li after cancelling")  # fmt: skip
        await wait_until(lambda: "agent-1002" not in asterisk.sandbox.cli("core show channels concise"), 30,
                         "the provincial agent's phone free")  # fmt: skip

        # the caller hangs up while li consults the queue's agent: both agents free, the leg abandoned
        await wu.wait_for_selector("#state[data-state=available]", timeout=PW_TIMEOUT_MS)
        await _transfer(li, "queue", "q-province", "attended", "再咨询一次")
        await _see(li, app, "对方已接听")
        await ami.conn.action({"Action": "Hangup", "Channel": call2.channel})
        await _see(li, app, "来电方已挂机")
        await wait_until(phones_busy, 30, "both agents' phones to be free", check=lambda b: b == [])
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            h = await login(client, "li.dali")
            rec = await _legs(client, h, call2.uniqueid, lambda r: len(r["legs"]) == 3)
            assert [x["status"] for x in rec["legs"][1:]] == ["cancelled", "abandoned"]
        await li.wait_for_selector("#state[data-state=available]", timeout=PW_TIMEOUT_MS)


async def test_transfer_faults_leave_the_caller_with_the_agent_and_say_so(tmp_path, db_url, asterisk):
    """Every way a transfer on one server can fail, blind and attended: a platform's queue with nobody
    signed in (refused before the caller moves), a colleague whose phone is unreachable, an outside
    number the carrier cannot reach. The caller stays with (or comes back to) the Dali agent and the
    desktop says so; the call record shows each started leg as returned."""
    async with AsyncExitStack() as stack:
        app, base, phones, pages = await _desks(stack, tmp_path, db_url, asterisk)
        li = pages["li.dali"]
        ami = await stack.enter_async_context(AmiWatch(asterisk))
        call = await _answered_by_li(asterisk, ami, pages, app=app, phones=phones)

        def caller_with_li() -> bool:
            return _talking(asterisk.sandbox.cli, call.channel, "PJSIP/agent-1001")

        async def clear() -> None:
            await li.evaluate("document.getElementById('xfermsg').textContent = ''")

        # the Kunming platform's queue: nobody signed in → refused, the caller never moved
        for mode in ("blind", "attended"):
            await clear()
            await _transfer(li, "queue", "q-kunming", mode, "昆明无人")
            await _see(li, app, "当前无坐席签入")
            assert "来电仍在您这里" in (await li.text_content("#xfermsg") or "")
            assert caller_with_li()

        # attended to an unreachable colleague / an unreachable number: the consultation fails and li is
        # back with the caller (who only heard hold)
        for kind, target in (("agent", "zhou.km"), ("external", "dead")):
            await clear()
            await _transfer(li, kind, target, "attended", "咨询失败")
            await _see(li, app, "来电已回到您")
            await wait_until(caller_with_li, 30, f"the caller back with li after consulting {target}")

        # blind to the unreachable number: the caller is sent back to li's phone (it rings again)
        await clear()
        rang = _rang(phones["li.dali"])
        await _transfer(li, "external", "dead", "blind", "号码不可达")
        await _see(li, app, "来电已回到您")
        assert _rang(phones["li.dali"]) == rang + 1
        await wait_until(caller_with_li, 30, "the caller back with li after the blind transfer")

        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            h = await login(client, "li.dali")
            # (a refused transfer never started: no leg)
            rec = await _legs(client, h, call.uniqueid, lambda r: len(r["legs"]) == 4)
            got = [(x["mode"], x["target"], x["status"]) for x in rec["legs"][1:]]
            assert got == [("attended", "zhou.km", "returned"), ("attended", "dead", "returned"),
                           ("blind", "dead", "returned")], got  # fmt: skip
        await ami.conn.action({"Action": "Hangup", "Channel": call.channel})
