"""Wrap-up (话后处理) enforced by Asterisk: the platform configuration's wrapup_s becomes queues.conf
wrapuptime, so a caller waiting when the agent's call ends is not offered to that agent before the
wrap-up is over - even when no pause is in place (here the test itself unpauses the agent right after
the backend paused it: the backend's pause losing a race). The desktop says 话后处理 and refuses 示闲
for as long as Asterisk holds the agent. A real phone (baresip) and a sandbox Asterisk of its own."""

from __future__ import annotations

import asyncio
import socket
import time

import httpx
import pytest
import yaml

from app.simcall import place_call
from asterisk_conf.render import SipAgent
from asterisk_conf.sandbox import Sandbox
from callflow import load_config
from tests.browser import live_server
from tests.conftest import add_user, login
from tests.system.conftest import AsteriskEnv, backend_settings
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
WRAP_S = 6


async def test_the_next_caller_waits_for_the_wrapup_asterisk_enforces(tmp_path, sqlite_url):
    from tests.resources import require

    require("asterisk")
    cfg_path = open_all_day_config(tmp_path)
    data = yaml.safe_load(cfg_path.read_text(encoding="utf-8"))
    for p in data["platforms"]:
        if p["code"] == "dali":
            p["wrapup_s"] = WRAP_S
    cfg_path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    sb = Sandbox.on_loopback(
        load_config(cfg_path), tmp_path / "ast", rtp_start=34000, rtp_end=34999,
        agents=[SipAgent("agent-1001", "softphone-pw-1001")],
    )  # fmt: skip
    assert f"wrapuptime = {WRAP_S}" in (sb.render().parent / "queues.conf").read_text().split("[q-dali]")[1]
    sb.start()
    phone = None
    try:
        from app.settings import AsteriskServer

        p = sb.params
        server = AsteriskServer(ami_port=p.ami_port, ami_secret=p.ami_secret, agi_secret=p.agi_secret)
        ast = AsteriskEnv(sb, server, p.agi_port, p.sip_port, tmp_path / "ast")
        phone = Softphone(tmp_path, "agent-1001", "softphone-pw-1001", p.sip_port, local_port=free_sip_port(),
                          ctrl_port=_free(socket.SOCK_STREAM), answer_after=0.5)  # fmt: skip
        phone.start()
        await asyncio.to_thread(phone.wait_registered, sb.cli)
        # the backend's own setting says 0: the queue's configured wrap-up wins, on the desktop too
        settings = backend_settings(tmp_path, sqlite_url, ast, platform_config=cfg_path, wrapup_s=0)
        async with (
            live_server(settings) as (app, base),
            httpx.AsyncClient(base_url=base) as c,
            AmiWatch(ast) as ami,
        ):
            try:
                await add_user(app, "li.dali", "agent", platform="dali", sip_endpoint="agent-1001")
                li = await login(c, "li.dali")
                r = await c.post("/api/agents/me/login", json={"queues": ["q-dali"]}, headers=li)
                assert r.status_code == 200 and r.json()["wrapup_s"] == WRAP_S, r.text
                first = await place_call(server, DALI_MOBILE, hangup=False, hold_s=12)
                assert first.queue == "q-dali", str(first.to_dict())
                await ami.wait_for(
                    lambda e: e.get("Event") == "AgentConnect" and e.get("Uniqueid") == first.uniqueid
                )
                second = await place_call(server, "13987254321", hangup=False, hold_s=40)
                assert second.queue == "q-dali", second
                await ami.wait_for_complete(first, timeout=30)
                ended = time.monotonic()
                # the desktop: 话后处理, and 示闲 refused while Asterisk holds the agent
                me = await wait_until(
                    lambda: c.get("/api/agents/me", headers=li), 5, "the desktop in wrap-up",
                    check=lambda r: r.json()["state"] == "wrapup",
                )  # fmt: skip
                assert me.json()["label"] == "话后处理"
                r = await c.post("/api/agents/me/ready", headers=li)
                assert r.status_code == 409 and "话后处理" in r.json()["detail"], r.text
                # the backend's pause lost: the agent is unpaused behind its back; Asterisk still waits
                await ami.conn.action(
                    {"Action": "QueuePause", "Interface": "PJSIP/agent-1001", "Paused": "false"}
                )
                called = await ami.wait_for(
                    lambda e: e.get("Event") == "AgentCalled" and e.get("Uniqueid") == second.uniqueid,
                    timeout=WRAP_S + 20,
                )
                waited = time.monotonic() - ended
                print(
                    f"\nsecond caller offered to the agent {waited:.1f} s after the first call ended (wrapuptime {WRAP_S} s; Asterisk counts it from its own whole-second clock)"
                )
                assert "agent-1001" in called.get("Interface", ""), called
                assert waited >= WRAP_S - 1.5, (
                    f"offered {waited:.1f} s after the call: Asterisk did not hold the wrap-up"
                )
                await ami.wait_for(
                    lambda e: e.get("Event") == "AgentConnect" and e.get("Uniqueid") == second.uniqueid
                )
            finally:
                await clear_queues(app)
    finally:
        if phone is not None:
            phone.stop()
        sb.stop()
