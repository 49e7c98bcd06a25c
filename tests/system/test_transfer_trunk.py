"""Two Asterisk servers joined by an IAX2 trunk (both sandboxes on 127.0.0.1): the prefecture's server
with a Dali agent's softphone (agent-1001), the province's server with a provincial agent's softphone
(agent-1002), one backend connected to both. A Dali citizen's call is answered on the prefecture's
server; the agent transfers it to the province's queue: it crosses the trunk, the provincial agent's
phone rings and their page pops with the prefecture's case and note. With the province's server down
(a dead trunk), the caller comes back to the Dali agent with a clear message."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import yaml

from app.settings import AsteriskServer
from app.simcall import place_call
from tests.browser import PW_TIMEOUT_MS, chromium, live_server, login_page, screenshot_path, sign_in_agent
from tests.conftest import add_user, login, make_settings
from tests.resources import require
from tests.system.softphone import (
    DALI_MOBILE,
    AmiWatch,
    Softphone,
    _free,
    clear_queues,
    open_all_day_config,
    with_test_wrapup,
)
from tests.system.transfer_desk import _talking, _transfer, _wrapup, li_staffed, sip_port_pair
from tests.waiting import wait_until

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    require("asterisk")
    from asterisk_conf.render import SipAgent
    from asterisk_conf.sandbox import free_port, trunked_pair
    from callflow import load_config

    agi_port = free_port()
    pref, prov = trunked_pair(
        with_test_wrapup(load_config()), tmp_path_factory.mktemp("trunk"),
        prefecture={"agi_port": agi_port, "rtp_start": 33000, "rtp_end": 33499,
                    "agents": [SipAgent("agent-1001", "softphone-pw-1001")]},
        province={"agi_port": agi_port, "rtp_start": 33500, "rtp_end": 33999,
                  "agents": [SipAgent("agent-1002", "softphone-pw-1002")]},
    )  # fmt: skip
    pref.start()
    prov.start()
    try:
        yield {"prefecture": pref, "province": prov, "agi_port": agi_port}
    finally:
        prov.stop()
        pref.stop()


def _server(sb: Any, platforms: list[str], recordings: bool = False) -> AsteriskServer:
    p = sb.params
    return AsteriskServer(name=p.server_name, ami_port=p.ami_port, ami_secret=p.ami_secret,
                          agi_secret=p.agi_secret, platforms=platforms,
                          recordings_dir=p.callrec_dir if recordings else None)  # fmt: skip


def _config(tmp: Path) -> Path:
    path = open_all_day_config(tmp)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["transfer"]["ring_s"] = 12
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


async def _desks(
    stack: AsyncExitStack, tmp_path: Path, db_url: str, two_servers: dict[str, Any],
    mics: dict[str, Path] | None = None, recordings: bool = False,
) -> Any:  # fmt: skip
    """Both agents' phones registered on their own server, the backend on both, both desktops signed in.
    mics: what a user's phone says (default silence); recordings: the backend checks both servers'
    call recordings (each server's own directory, as on a shared disk)."""
    from callflow import load_config

    pref, prov = two_servers["prefecture"], two_servers["province"]
    prefectures = [p.code for p in load_config().prefectures]
    settings = make_settings(
        tmp_path, db_url, ami_enabled=True, agi_enabled=True, agi_port=two_servers["agi_port"],
        asterisk=[_server(pref, prefectures, recordings), _server(prov, ["province"], recordings)],
        ami_ping_interval_s=1.0,
        platform_config=_config(tmp_path), wrapup_s=1,
    )  # fmt: skip
    phones = {}
    for user, (sb, ep, pw) in {"li.dali": (pref, "agent-1001", "softphone-pw-1001"),
                                "wu.prov": (prov, "agent-1002", "softphone-pw-1002")}.items():  # fmt: skip
        phone = Softphone(tmp_path, ep, pw, sb.params.sip_port, local_port=sip_port_pair(),
                          ctrl_port=_free(socket.SOCK_STREAM), answer_after=2.0,
                          mic=(mics or {}).get(user))  # fmt: skip
        phone.start()
        stack.callback(phone.stop)
        await asyncio.to_thread(phone.wait_registered, sb.cli)
        phones[user] = phone
    app, base = await stack.enter_async_context(live_server(settings))
    await add_user(app, "li.dali", "agent", platform="dali", sip_endpoint="agent-1001", display_name="李大理")
    await add_user(app, "wu.prov", "agent", platform="province", sip_endpoint="agent-1002", display_name="吴省")
    stack.push_async_callback(clear_queues, app)
    browser = await stack.enter_async_context(chromium())
    pages = {}
    for user in ("li.dali", "wu.prov"):
        page = await login_page(browser, base, user)
        await page.wait_for_url("**/ui/agent")
        await page.wait_for_selector("#conn:has-text('已连接')")
        await sign_in_agent(page)
        pages[user] = page
    li, wu = pages["li.dali"], pages["wu.prov"]
    await wait_until(lambda: "agent-1002" in prov.cli("queue show q-province"), 15, "wu in q-province")
    ami_pref = await stack.enter_async_context(AmiWatch(SimpleNamespace(server=settings.asterisk[0])))
    ami_prov = await stack.enter_async_context(AmiWatch(SimpleNamespace(server=settings.asterisk[1])))
    return SimpleNamespace(settings=settings, app=app, base=base, li=li, wu=wu, ami_pref=ami_pref,
                           ami_prov=ami_prov, pref=pref, prov=prov)  # fmt: skip


async def test_transfer_to_the_province_crosses_the_trunk_with_the_case(tmp_path, db_url, two_servers):
    async with AsyncExitStack() as stack:
        d = await _desks(stack, tmp_path, db_url, two_servers)
        settings, base, li, wu = d.settings, d.base, d.li, d.wu
        ami_pref, ami_prov, pref, prov = d.ami_pref, d.ami_prov, d.pref, d.prov

        await li_staffed(d.app)
        call = await place_call(settings.asterisk[0], DALI_MOBILE, hangup=False, hold_s=90)
        assert call.queue == "q-dali", call.to_dict()
        await li.wait_for_selector(f"#bound:has-text('{call.uniqueid}')", timeout=PW_TIMEOUT_MS)
        await li.fill("#f_summary", "州市无法办理的省级事项")
        await li.click("#save")
        await li.wait_for_selector("#saved:has-text('已保存工单')", timeout=PW_TIMEOUT_MS)
        number = (await li.text_content("#saved") or "").split("已保存工单 ")[1].split("（")[0].strip()

        await li.select_option("#x_kind", "queue")
        await li.wait_for_selector("#x_target option[value='q-province']", state="attached", timeout=PW_TIMEOUT_MS)
        await li.select_option("#x_target", "q-province")
        await li.fill("#x_note", "请省平台协调省直部门")
        await li.click("#x_blind")

        # the call crossed the trunk: the province's server queues it and rings the provincial phone
        joined = await ami_prov.wait_for(
            lambda e: e.get("Event") == "QueueCallerJoin" and e.get("Queue") == "q-province", 30
        )
        assert joined.get("Channel", "").startswith("IAX2/"), joined
        assert joined.get("CallerIDNum") == DALI_MOBILE
        await wu.wait_for_selector(f"#pcaller:text-is('{DALI_MOBILE}')", timeout=PW_TIMEOUT_MS)
        assert "大理" in (await wu.text_content("#pregion") or "")  # the prefecture's call's region
        assert "请省平台协调省直部门" in (await wu.text_content("#pxfer") or "")
        assert (await wu.text_content("#pxcase") or "").startswith(number)
        await wu.screenshot(path=str(screenshot_path("transfer-trunk-province-agent")))
        await li.wait_for_selector("#xfermsg:has-text('对方已接听')", timeout=PW_TIMEOUT_MS)
        assert "wu.prov" in (await li.text_content("#xfermsg") or "")
        assert any(e.get("Event") == "AgentConnect" and "agent-1002" in e.get("Interface", "")
                   for e in ami_prov.events)  # fmt: skip
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            h = await login(client, "li.dali")
            r = await client.get(f"/api/calls/{call.uniqueid}/legs", headers=h)
            leg = r.json()["legs"][1]
            assert (leg["target"], leg["status"], leg["answered_by"]) == ("q-province", "answered", "wu.prov")
        await ami_pref.conn.action({"Action": "Hangup", "Channel": call.channel})
        # each agent's wrap-up runs on their own server (both servers know a queue q-province and q-dali:
        # the pause went by queue name to the first server once, which answered "Interface not found")
        await ami_pref.wait_for(lambda e: _wrapup(e, "agent-1001", "1"), 30)
        await ami_prov.wait_for(lambda e: _wrapup(e, "agent-1002", "1"), 30)
        await ami_prov.wait_for(lambda e: _wrapup(e, "agent-1002", "0"), 30)

        # a named colleague on the other server, consulted first: li's consultation crosses the trunk to
        # wu's phone; wu's page pops with the Dali caller, region and li's note; li completes
        await li.wait_for_selector("#state[data-state=available]", timeout=PW_TIMEOUT_MS)
        await wu.wait_for_selector("#state[data-state=available]", timeout=PW_TIMEOUT_MS)
        await li_staffed(d.app)
        call3 = await place_call(settings.asterisk[0], DALI_MOBILE, hangup=False, hold_s=90)
        await li.wait_for_selector(f"#bound:has-text('{call3.uniqueid}')", timeout=PW_TIMEOUT_MS)
        await _transfer(li, "agent", "wu.prov", "attended", "省医保局的同事请接一下")
        await wu.wait_for_selector("#pxfer:has-text('省医保局的同事请接一下')", timeout=PW_TIMEOUT_MS)
        assert "咨询转接" in (await wu.text_content("#pxfer") or "")
        assert await wu.text_content("#pcaller") == DALI_MOBILE
        assert "大理" in (await wu.text_content("#pregion") or "")
        dialled = await ami_prov.wait_for(
            lambda e: e.get("Event") == "DialBegin" and "agent-1002" in e.get("DestChannel", "")
            and e.get("Channel", "").startswith("IAX2/"), 30,
        )  # fmt: skip
        assert dialled
        await li.wait_for_selector("#xfermsg:has-text('对方已接听')", timeout=PW_TIMEOUT_MS)
        await li.click("#x_complete")
        await li.wait_for_selector("#xfermsg:has-text('已完成')", timeout=PW_TIMEOUT_MS)
        # li's phone is free; the caller (prefecture) talks over the trunk to wu (province)
        await wait_until(lambda: "agent-1001" not in pref.cli("core show channels concise"), 30, "li's phone free")
        assert any(ln.startswith(call3.channel + "!") for ln in pref.cli("core show channels concise").splitlines())
        assert "agent-1002" in prov.cli("core show channels concise")
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            h = await login(client, "li.dali")
            r = await client.get(f"/api/calls/{call3.uniqueid}/legs", headers=h)
            leg = r.json()["legs"][1]
            assert (leg["mode"], leg["kind"], leg["target"], leg["status"], leg["to_platform"]) == (
                "attended", "agent", "wu.prov", "completed", "province"
            )
        await ami_pref.conn.action({"Action": "Hangup", "Channel": call3.channel})
        await wait_until(lambda: "agent-1002" not in prov.cli("core show channels concise"), 30, "wu's phone free")

        # a dead trunk: the province's server is down; the caller comes back to the Dali agent
        await li.wait_for_selector("#state[data-state=available]", timeout=PW_TIMEOUT_MS)
        prov.stop()
        try:
            await li_staffed(d.app)
            call2 = await place_call(settings.asterisk[0], DALI_MOBILE, hangup=False, hold_s=90)
            try:
                await li.wait_for_selector(f"#bound:has-text('{call2.uniqueid}')", timeout=PW_TIMEOUT_MS)
            except Exception as e:
                raise AssertionError(f"li shows {await li.text_content('#state')!r}; {pref.cli('queue show q-dali')}") from e
            await li.select_option("#x_kind", "queue")
            await li.select_option("#x_target", "q-province")
            await li.click("#x_blind")
            # refused before the caller moves (nobody signed in there as far as the backend knows) or
            # sent back by the dialplan: either way the desktop says the caller is with the agent
            await li.wait_for_selector(
                "#xfermsg:has-text('来电已回到您'), #xfermsg:has-text('来电仍在您这里')", timeout=PW_TIMEOUT_MS
            )
            text = await li.text_content("#xfermsg") or ""
            assert "来电仍在您这里" in text or "来电已回到您" in text, text
            await ami_pref.conn.action({"Action": "Hangup", "Channel": call2.channel})

            # the colleague on the dead server, blind: the caller stays with (or comes back to) li
            await li.wait_for_selector("#state[data-state=available]", timeout=PW_TIMEOUT_MS)
            await li_staffed(d.app)
            call4 = await place_call(settings.asterisk[0], DALI_MOBILE, hangup=False, hold_s=90)
            await li.wait_for_selector(f"#bound:has-text('{call4.uniqueid}')", timeout=PW_TIMEOUT_MS)
            await li.evaluate("document.getElementById('xfermsg').textContent = ''")
            await _transfer(li, "agent", "wu.prov", "blind", "死中继")
            await li.wait_for_selector(
                "#xfermsg:has-text('来电已回到您'), #xfermsg:has-text('来电仍在您这里')", timeout=PW_TIMEOUT_MS
            )
            assert any(ln.startswith(call4.channel + "!") for ln in pref.cli("core show channels concise").splitlines())
            await ami_pref.conn.action({"Action": "Hangup", "Channel": call4.channel})
        finally:
            prov.start()


async def test_a_dead_trunk_returns_the_caller_to_the_transferring_agent(tmp_path, db_url, two_servers):
    """The province's server is up and its agent signed in, but the trunk is dead (its IAX2 driver
    unloaded): the backend cannot know before dialling, so the dialplan's way back is what is tested.
    Blind to the province's queue, attended to its queue and to the provincial colleague: each time the
    caller comes back to the Dali agent and the desktop says so."""
    async with AsyncExitStack() as stack:
        d = await _desks(stack, tmp_path, db_url, two_servers)
        li, pref, prov = d.li, d.pref, d.prov
        await d.wu.wait_for_selector("#state[data-state=available]", timeout=PW_TIMEOUT_MS)
        prov.cli("module unload chan_iax2.so")
        stack.callback(prov.cli, "module load chan_iax2.so")
        await wait_until(lambda: "chan_iax2.so" not in prov.cli("module show like chan_iax2"), 15, "no IAX2 driver")
        for kind, target, mode in (("queue", "q-province", "blind"), ("queue", "q-province", "attended"),
                                   ("agent", "wu.prov", "attended"), ("agent", "wu.prov", "blind")):  # fmt: skip
            await li.wait_for_selector("#state[data-state=available]", timeout=PW_TIMEOUT_MS)
            await li_staffed(d.app)
            call = await place_call(d.settings.asterisk[0], DALI_MOBILE, hangup=False, hold_s=90)
            try:  # (a loaded machine: the queue, AMI and the page's socket get twice the usual time)
                await li.wait_for_selector(f"#bound:has-text('{call.uniqueid}')", timeout=2 * PW_TIMEOUT_MS)
            except Exception as e:
                raise AssertionError(
                    f"{mode} {kind} {target}: the call did not reach li's desktop; "
                    f"{pref.cli('queue show q-dali')}\n{pref.cli('core show channels concise')}"
                ) from e
            await li.evaluate("document.getElementById('xfermsg').textContent = ''")
            await _transfer(li, kind, target, mode, "中继不通")
            try:
                await li.wait_for_selector("#xfermsg:has-text('来电已回到您')", timeout=PW_TIMEOUT_MS)
            except Exception as e:
                shown = await li.text_content("#xfermsg")
                raise AssertionError(f"{mode} {kind} {target}: the desktop showed {shown!r}") from e
            # the caller is talking to li again, on the prefecture's server
            channel = call.channel
            await wait_until(lambda ch=channel: _talking(pref.cli, ch, "PJSIP/agent-1001"), 30,
                             f"the caller back with li ({mode} {target})")  # fmt: skip
            async with httpx.AsyncClient(base_url=d.base, timeout=60) as client:
                h = await login(client, "li.dali")
                r = await client.get(f"/api/calls/{call.uniqueid}/legs", headers=h)
                leg = r.json()["legs"][1]
                assert (leg["mode"], leg["target"], leg["status"]) == (mode, target, "returned"), leg
            await d.ami_pref.conn.action({"Action": "Hangup", "Channel": call.channel})


async def test_the_province_agents_leg_is_recorded_on_the_call(tmp_path, sqlite_url, two_servers):
    """Recording across the trunk: li (Dali) answers a citizen, files the case and blind-transfers the
    caller to the provincial queue; wu (province, on the other Asterisk; their phone says 1000 Hz)
    takes it over the IAX2 trunk. The call's recording - MixMonitor on the caller's channel, from li's
    answer until the caller hangs up - holds wu's voice: the province's leg is recorded on the call
    (and so reaches its case), played to li. The province's queue also records its own leg into its
    server's directory (a file of the trunk channel). SQLite only: the database plays no part here that
    the PostgreSQL variants of the recording tests do not already cover."""
    from recordings import calls as rc
    from tests.system.audio_check import tone_wav
    from tests.system.test_listen_in import SUPERVISOR_HZ as WU_HZ
    from tests.system.test_listen_in import _freqs

    wu_mic = tone_wav(tmp_path / "wu-mic.wav", WU_HZ, 600)
    async with AsyncExitStack() as stack:
        d = await _desks(stack, tmp_path, sqlite_url, two_servers, mics={"wu.prov": wu_mic}, recordings=True)
        li, ami_prov = d.li, d.ami_prov
        await li_staffed(d.app)
        call = await place_call(d.settings.asterisk[0], DALI_MOBILE, hangup=False, hold_s=90)
        assert call.queue == "q-dali", call.to_dict()
        await li.wait_for_selector(f"#bound:has-text('{call.uniqueid}')", timeout=PW_TIMEOUT_MS)
        await li.fill("#f_summary", "省直部门事项")
        await li.click("#save")
        await li.wait_for_selector("#saved:has-text('已保存工单')", timeout=PW_TIMEOUT_MS)
        number = (await li.text_content("#saved") or "").split("已保存工单 ")[1].split("（")[0].strip()
        await _transfer(li, "queue", "q-province", "blind", "请省平台处理")
        joined = await ami_prov.wait_for(
            lambda e: e.get("Event") == "AgentConnect" and "agent-1002" in e.get("Interface", ""), 40
        )
        assert joined.get("Channel", "").startswith("IAX2/"), joined
        # wu talks: the province's own file of its leg grows past 4 s of audio (8 kHz, 16 bit)
        prov_file = rc.path_for(d.prov.params.callrec_dir, joined["Uniqueid"])
        await wait_until(lambda: rc.size_of(prov_file) > 4 * 16000, 40, f"the province's recording {prov_file}")
        await d.ami_pref.conn.action({"Action": "Hangup", "Channel": call.channel})

        got = tmp_path / "call-recording.wav"
        async with httpx.AsyncClient(base_url=d.base, timeout=60) as client:
            h = await login(client, "li.dali")

            async def heard() -> set[int] | None:
                info = (await client.get(f"/api/calls/{call.uniqueid}/recording/info", headers=h)).json()
                if info["recording_status"] != "ok":
                    return None
                r = await client.get(f"/api/calls/{call.uniqueid}/recording", headers=h)
                got.write_bytes(r.content)
                return _freqs(got)

            freqs = await wait_until(heard, 40, "wu's voice in the call's recording",
                                     check=lambda f: f is not None and WU_HZ in f)  # fmt: skip
            print(f"\nthe call's recording: {got.stat().st_size} bytes, tones {sorted(freqs or ())} Hz")
            r = await client.get(f"/api/cases/{number}", headers=h)
            assert r.status_code == 200 and r.json()["call_uniqueid"] == call.uniqueid, r.text[:300]
        await wait_until(lambda: WU_HZ in _freqs(prov_file), 30, "wu's voice in the province's own file")
