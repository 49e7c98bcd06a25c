"""The transfer tests' desk: two real softphones (baresip: agent-1001 for a Dali agent, agent-1002 for
a provincial agent) registered on the sandbox Asterisk, the backend serving both desktops in headless
Chromium, and the steps the tests share (answer a call at li's desk, file its case, transfer from the
page, read the call record, check who talks to whom on Asterisk)."""

from __future__ import annotations

import asyncio
import socket
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import yaml

from app.simcall import place_call
from tests.browser import PW_TIMEOUT_MS, chromium, live_server, login_page, sign_in_agent
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
    if (
        e.get("Event") != "QueueMemberPause"
        or endpoint not in e.get("Interface", "")
        or e.get("Paused") != paused
    ):
        return False
    return paused == "0" or "话后处理" in (e.get("Reason") or e.get("PausedReason") or "")


def _talking(cli: Any, caller: str, agent: str) -> bool:
    """Is the caller's channel bridged with the agent's, directly or through Local channel pairs, and no
    other phone in the conversation? (core show channels concise: field 13 is the bridge id)"""
    rows = [
        line.split("!") for line in cli("core show channels concise").splitlines() if line.count("!") > 10
    ]
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


async def _desks(
    stack: AsyncExitStack, tmp_path: Path, db_url: str, asterisk: Any
) -> tuple[Any, str, dict, dict]:
    settings = backend_settings(
        tmp_path, db_url, asterisk, platform_config=_config(tmp_path), wrapup_s=WRAPUP_S
    )
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
    await add_user(
        app, "zhou.km", "agent", platform="kunming", sip_endpoint="agent-1003", display_name="周昆明"
    )
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


async def li_staffed(app: Any, steady_s: float = WRAPUP_S + 1.5, timeout: float = 60) -> None:
    """Wait until the backend's live state shows li staffed in q-dali (signed in, not paused) and still
    does ``steady_s`` later. The desktop says 空闲 as soon as a call ends, but the wrap-up pause follows
    AgentComplete, which a loaded machine delivers a moment later: a call placed in that gap would wait
    in q-dali for the wrap-up to end (routing counts li: tests/system/test_routing_wrapup.py), and the
    transfer tests time li's answer from the call."""
    from app.telephony.lifecycle import TELEPHONY

    state = app.state.runtime.require(TELEPHONY).state
    loop = asyncio.get_running_loop()
    since: list[float] = []

    def steady() -> bool:
        if (state.agents_by_queue() or {}).get("q-dali") != 1:
            since.clear()
            return False
        if not since:
            since.append(loop.time())
        return loop.time() - since[0] >= steady_s

    await wait_until(steady, timeout, f"li staffed in q-dali for {steady_s} s",
                     describe=lambda: [(m.interface, m.status, m.paused, m.reason)
                                       for q in state.queues.values() for m in q.members.values()])  # fmt: skip


async def _answered_by_li(
    asterisk: Any, ami: AmiWatch, pages: dict, hold_s: int = 90, app: Any = None, phones: dict | None = None
) -> Any:
    if app is not None:
        await li_staffed(app)
    call = await place_call(asterisk.server, DALI_MOBILE, hangup=False, hold_s=hold_s)
    assert call.queue == "q-dali", call.to_dict()
    # li's phone answers 2 s after it rings; the queue rings 15 s, pauses 2 s and rings again, as in
    # production: allow one such retry (a starved baresip can miss its first ring), say what the phone saw
    try:
        await ami.wait_for(
            lambda e: e.get("Event") == "AgentConnect" and e.get("Uniqueid") == call.uniqueid, 50
        )
    except AssertionError as e:
        seen = [
            {k: v for k, v in ev.items() if k in ("type", "class", "response", "ok", "data", "param")}
            for ev in (phones["li.dali"].events if phones else [])
        ]
        raise AssertionError(f"li never answered: {e}; li's phone saw {seen}") from e
    await pages["li.dali"].wait_for_selector(f"#bound:has-text('{call.uniqueid}')", timeout=PW_TIMEOUT_MS)
    await pages["li.dali"].wait_for_selector("#state[data-state=on_call]", timeout=PW_TIMEOUT_MS)
    return call


async def _transfer(page: Any, kind: str, target: str, mode: str, note: str = "") -> None:
    # the page reloads the targets on every change of kind (even to the same kind): empty the list first,
    # so the wait below sees this load's options, not the previous ones about to be replaced
    await page.evaluate("document.getElementById('x_target').innerHTML = ''")
    await page.select_option("#x_kind", kind)
    await page.wait_for_selector(
        f"#x_target option[value='{target}']", state="attached", timeout=PW_TIMEOUT_MS
    )
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
            rows = [
                (t.kind, t.target, t.status, t.detail, t.answered_by)
                for t in await s.scalars(select(CallTransfer))
            ]
        shown = await page.text_content("#xfermsg")
        raise AssertionError(
            f"the desktop never showed {text!r}: it showed {shown!r}; transfers {rows}"
        ) from e


async def _legs(client: Any, h: dict, uid: str, check: Any) -> dict:
    async def get() -> dict:
        r = await client.get(f"/api/calls/{uid}/legs", headers=h)
        assert r.status_code == 200, r.text
        return dict(r.json())

    return await wait_until(get, 30, f"the call record of {uid}", check=check)


async def _file_case(li: Any, summary: str) -> str:
    """li starts the call's case with this summary and saves it: the case number the page shows."""
    await li.fill("#f_summary", summary)
    await li.click("#save")
    await li.wait_for_selector("#saved:has-text('已保存工单')", timeout=PW_TIMEOUT_MS)
    return (await li.text_content("#saved") or "").split("已保存工单 ")[1].split("（")[0].strip()


async def _popped_with_case(wu: Any, number: str, note: str) -> None:
    """wu's page pops with the Dali caller, their region, the transferring agent's note and the case."""
    await wu.wait_for_selector(f"#pcaller:text-is('{DALI_MOBILE}')", timeout=PW_TIMEOUT_MS)
    assert "大理" in (await wu.text_content("#pregion") or "")
    assert note in (await wu.text_content("#pxfer") or "")
    assert (await wu.text_content("#pxcase") or "").startswith(number)
