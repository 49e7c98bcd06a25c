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

import asyncio
import socket
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from app.simcall import place_call
from tests.browser import PW_TIMEOUT_MS, chromium, live_server, login_page, screenshot_path, sign_in_agent
from tests.conftest import add_user, login
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

PHONES = {"li.dali": ("agent-1001", "softphone-pw-1001"), "wu.prov": ("agent-1002", "softphone-pw-1002")}
PLATFORM = {"li.dali": "dali", "wu.prov": "province"}
NAMES = {"li.dali": "李大理", "wu.prov": "吴省平台"}
WRAPUP_S = 1  # agents go through wrap-up (话后处理) after each call, as in production


sip_port_pair = free_sip_port


def _config(tmp: Path) -> Path:
    path = open_all_day_config(tmp)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["transfer"]["ring_s"] = 10  # a target that does not answer sends the caller back after 10 s
    # a directory number the carrier cannot reach (the sandbox's [hotline-outbound] refuses 000…)
    data["transfer"]["directory"].append({"code": "dead", "name": "已停用热线", "number": "00012345"})
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _wrapup(e: dict[str, str], endpoint: str, paused: str) -> bool:
    """A QueueMemberPause of this phone's member: paused for wrap-up ("1") or unpaused ("0")."""
    if e.get("Event") != "QueueMemberPause" or endpoint not in e.get("Interface", "") or e.get("Paused") != paused:
        return False
    return paused == "0" or "话后处理" in (e.get("Reason") or e.get("PausedReason") or "")


def _talking(cli: Any, caller: str, agent: str) -> bool:
    """Is the caller's channel bridged with the agent's, directly or through Local channel pairs, and no
    other phone in the conversation? (core show channels concise: field 13 is the bridge id)"""
    rows = [line.split("!") for line in cli("core show channels concise").splitlines() if line.count("!") > 10]
    bridge = {r[0]: r[12] for r in rows}
    seen, todo = set(), [caller]
    while todo:
        ch = todo.pop()
        if ch in seen or ch not in bridge:
            continue
        seen.add(ch)
        todo += [c for c, b in bridge.items() if b and b == bridge[ch]]
        if ch.startswith("Local/"):  # the other half of the pair
            base = ch.rsplit(";", 1)[0]
            todo += [c for c in bridge if c.rsplit(";", 1)[0] == base]
    phones = {c.rsplit("-", 1)[0] for c in seen if c.startswith("PJSIP/")}
    return phones == {agent}


def _rang(phone: Softphone) -> int:
    return sum(1 for e in phone.events if e.get("type") == "CALL_INCOMING")


async def _desks(stack: AsyncExitStack, tmp_path: Path, db_url: str, asterisk: Any) -> tuple[Any, str, dict, dict]:
    settings = backend_settings(tmp_path, db_url, asterisk, platform_config=_config(tmp_path), wrapup_s=WRAPUP_S)
    phones = {
        user: Softphone(tmp_path, ep, pw, asterisk.sip_port, local_port=sip_port_pair(),
                        ctrl_port=_free(socket.SOCK_STREAM), answer_after=2.0)
        for user, (ep, pw) in PHONES.items()
    }  # fmt: skip
    for phone in phones.values():
        phone.start()
        stack.callback(phone.stop)
    for phone in phones.values():
        await asyncio.to_thread(phone.wait_registered, asterisk.sandbox.cli)
    app, base = await stack.enter_async_context(live_server(settings))
    for user, (ep, _) in PHONES.items():
        await add_user(app, user, "agent", platform=PLATFORM[user], sip_endpoint=ep, display_name=NAMES[user])
    # a Kunming colleague whose phone (agent-1003) is not configured on the server: unreachable
    await add_user(app, "zhou.km", "agent", platform="kunming", sip_endpoint="agent-1003", display_name="周昆明")
    stack.push_async_callback(clear_queues, app)
    browser = await stack.enter_async_context(chromium())
    pages = {}
    for user in PHONES:
        page = await login_page(browser, base, user)
        await page.wait_for_url("**/ui/agent")
        await page.wait_for_selector("#conn:has-text('已连接')")
        await sign_in_agent(page)
        pages[user] = page
    return app, base, phones, pages


async def _answered_by_li(asterisk: Any, ami: AmiWatch, pages: dict, hold_s: int = 90, app: Any = None) -> Any:
    if app is not None:  # the routing decision reads the backend's live state: li staffed in q-dali
        from app.telephony.lifecycle import TELEPHONY

        state = app.state.runtime.require(TELEPHONY).state
        await wait_until(lambda: (state.agents_by_queue() or {}).get("q-dali") == 1, 30, "li staffed in q-dali")
    call = await place_call(asterisk.server, DALI_MOBILE, hangup=False, hold_s=hold_s)
    assert call.queue == "q-dali", call.to_dict()
    await ami.wait_for(lambda e: e.get("Event") == "AgentConnect" and e.get("Uniqueid") == call.uniqueid, 30)
    await pages["li.dali"].wait_for_selector(f"#bound:has-text('{call.uniqueid}')", timeout=PW_TIMEOUT_MS)
    await pages["li.dali"].wait_for_selector("#state[data-state=on_call]", timeout=PW_TIMEOUT_MS)
    return call


async def _transfer(page: Any, kind: str, target: str, mode: str, note: str = "") -> None:
    # the page reloads the targets on every change of kind (even to the same kind): empty the list first,
    # so the wait below sees this load's options, not the previous ones about to be replaced
    await page.evaluate("document.getElementById('x_target').innerHTML = ''")
    await page.select_option("#x_kind", kind)
    await page.wait_for_selector(f"#x_target option[value='{target}']", state="attached", timeout=PW_TIMEOUT_MS)
    await page.select_option("#x_target", target)
    await page.fill("#x_note", note)
    await page.click("#x_blind" if mode == "blind" else "#x_attended")


async def _see(page: Any, app: Any, text: str) -> None:
    """Wait for the transfer message on the desktop; on a timeout say what the page and the call
    record showed."""
    try:
        await page.wait_for_selector(f"#xfermsg:has-text('{text}')", timeout=PW_TIMEOUT_MS)
    except Exception as e:
        from sqlalchemy import select

        from app.transfers.models import CallTransfer

        async with app.state.runtime.db.sessionmaker() as s:
            rows = [(t.kind, t.target, t.status, t.detail, t.answered_by) for t in await s.scalars(select(CallTransfer))]
        shown = await page.text_content("#xfermsg")
        raise AssertionError(f"the desktop never showed {text!r}: it showed {shown!r}; transfers {rows}") from e


async def _legs(client: Any, h: dict, uid: str, check: Any) -> dict:
    async def get() -> dict:
        r = await client.get(f"/api/calls/{uid}/legs", headers=h)
        assert r.status_code == 200, r.text
        return dict(r.json())

    return await wait_until(get, 30, f"the call record of {uid}", check=check)


async def test_blind_transfer_to_the_province_pops_with_the_case_and_an_unreachable_colleague_returns_the_caller(
    tmp_path, db_url, asterisk
):
    async with AsyncExitStack() as stack:
        app, base, phones, pages = await _desks(stack, tmp_path, db_url, asterisk)
        li, wu = pages["li.dali"], pages["wu.prov"]
        ami = await stack.enter_async_context(AmiWatch(asterisk))

        call = await _answered_by_li(asterisk, ami, pages, app=app)
        # the Dali agent starts the case, then hands the call to the province with a note
        await li.fill("#f_summary", "跨州市医保转移接续咨询")
        await li.click("#save")
        await li.wait_for_selector("#saved:has-text('已保存工单')", timeout=PW_TIMEOUT_MS)
        number = (await li.text_content("#saved") or "").split("已保存工单 ")[1].split("（")[0].strip()
        await _transfer(li, "queue", "q-province", "blind", "涉及省级部门，请省平台受理")

        # the provincial agent's phone rings and the page pops with the caller, region, case and note
        await wu.wait_for_selector(f"#pcaller:text-is('{DALI_MOBILE}')", timeout=PW_TIMEOUT_MS)
        assert "大理" in (await wu.text_content("#pregion") or "")
        assert "涉及省级部门，请省平台受理" in (await wu.text_content("#pxfer") or "")
        assert "li.dali" in (await wu.text_content("#pxfer") or "")
        assert (await wu.text_content("#pxcase") or "").startswith(number)
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
        call2 = await _answered_by_li(asterisk, ami, pages, app=app)
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

        call = await _answered_by_li(asterisk, ami, pages, app=app)
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
        call2 = await _answered_by_li(asterisk, ami, pages, app=app)
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

        call = await _answered_by_li(asterisk, ami, pages, app=app)
        await li.fill("#f_summary", "跨州市社保关系转移")
        await li.click("#save")
        await li.wait_for_selector("#saved:has-text('已保存工单')", timeout=PW_TIMEOUT_MS)
        number = (await li.text_content("#saved") or "").split("已保存工单 ")[1].split("（")[0].strip()
        await _transfer(li, "queue", "q-province", "attended", "已核实身份，需省人社厅答复")

        # the province's queue rings its agent while the caller holds; the page pops with the case
        await wu.wait_for_selector(f"#pcaller:text-is('{DALI_MOBILE}')", timeout=PW_TIMEOUT_MS)
        assert "大理" in (await wu.text_content("#pregion") or "")
        assert "已核实身份，需省人社厅答复" in (await wu.text_content("#pxfer") or "")
        assert "咨询转接" in (await wu.text_content("#pxfer") or "")
        assert (await wu.text_content("#pxcase") or "").startswith(number)
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
        call2 = await _answered_by_li(asterisk, ami, pages, app=app)
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
        call = await _answered_by_li(asterisk, ami, pages, app=app)

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
