"""Skills with levels through the real sandbox Asterisk and two real softphones (baresip): a 12315
call (market supervision, skill group `market`) rings the Kunming agent with that skill, never the
other; with the skilled agent paused it reaches the other agent, after the configured wait."""

from __future__ import annotations

import asyncio
import socket
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
import yaml

from app.simcall import place_call
from tests.conftest import add_user, login, running_app
from tests.system.conftest import backend_settings
from tests.system.softphone import (
    AmiWatch,
    Softphone,
    _free,
    clear_queues,
    free_sip_port,
    open_all_day_config,
)
from tests.waiting import wait_until

pytestmark = pytest.mark.system

KUNMING = "13987112345"
FALLBACK_S = 6


def _config(tmp: Path) -> Path:
    path = open_all_day_config(tmp)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["skills"]["fallback_after_s"] = FALLBACK_S
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _called(ami: AmiWatch, uid: str) -> list[str]:
    return [
        e.get("Interface", "")
        for e in ami.events
        if e.get("Event") == "AgentCalled" and uid in (e.get("Uniqueid"), e.get("Linkedid"))
    ]


async def test_a_12315_call_rings_the_skilled_agent_and_falls_back_after_the_wait(tmp_path, db_url, asterisk):
    settings = backend_settings(tmp_path, db_url, asterisk, platform_config=_config(tmp_path), wrapup_s=0)
    async with AsyncExitStack() as stack:
        phones = {}
        for ep, pw in (("agent-1001", "softphone-pw-1001"), ("agent-1002", "softphone-pw-1002")):
            phone = Softphone(tmp_path, ep, pw, asterisk.sip_port, local_port=free_sip_port(),
                              ctrl_port=_free(socket.SOCK_STREAM), answer_after=1.0)  # fmt: skip
            phone.start()
            stack.callback(phone.stop)
            phones[ep] = phone
        for phone in phones.values():
            await asyncio.to_thread(phone.wait_registered, asterisk.sandbox.cli)
        app, client = await stack.enter_async_context(running_app(settings))
        stack.push_async_callback(clear_queues, app)
        ami = await stack.enter_async_context(AmiWatch(asterisk))
        await add_user(app, "admin", "admin")
        await add_user(
            app, "shi.km", "agent", platform="kunming", sip_endpoint="agent-1001", display_name="市场"
        )
        await add_user(
            app, "pu.km", "agent", platform="kunming", sip_endpoint="agent-1002", display_name="普通"
        )
        ha = await login(client, "admin")

        # the administrator gives shi.km the market skill at level 5; bad input is refused in Chinese
        r = await client.put(
            "/api/admin/users/shi.km/skills", json={"skills": {"market": 5, "yi": 3}}, headers=ha
        )
        assert r.status_code == 200, r.text
        assert r.json()["skills"] == {"market": 5, "yi": 3}
        bad = await client.put("/api/admin/users/shi.km/skills", json={"skills": {"market": 9}}, headers=ha)
        assert bad.status_code == 422 and "1-5" in bad.json()["detail"]
        bad = await client.put("/api/admin/users/shi.km/skills", json={"skills": {"cooking": 3}}, headers=ha)
        assert bad.status_code == 422 and "未知技能" in bad.json()["detail"]
        users = {u["username"]: u for u in (await client.get("/api/admin/users", headers=ha)).json()}
        assert users["shi.km"]["skills"] == "market:5,yi:3" and users["pu.km"]["skills"] is None
        h_agent = await login(client, "pu.km")
        assert (
            await client.put("/api/admin/users/pu.km/skills", json={"skills": {}}, headers=h_agent)
        ).status_code == 403

        heads = {u: await login(client, u) for u in ("shi.km", "pu.km")}
        for h in heads.values():
            r = await client.post("/api/agents/me/login", json={"queues": ["q-kunming"]}, headers=h)
            assert r.status_code == 200, r.text
        from app.telephony.lifecycle import TELEPHONY

        state = app.state.runtime.require(TELEPHONY).state

        def staffed() -> dict[str, int]:
            return state.agents_by_queue() or {}

        await wait_until(staffed, 30, "both agents staffed in q-kunming and its market queue",
                         check=lambda s: s.get("q-kunming") == 2 and s.get("q-kunming-skill-market") == 2)  # fmt: skip

        # 1. a 12315 call: the skilled agent's phone rings and answers; the other never rings
        call = await place_call(
            asterisk.server, KUNMING, dialled="12315", hangup=False, hold_s=60, timeout=30, as_citizen=True
        )
        assert (call.error, call.queue, call.source) == (None, "q-kunming-skill-market", "12315"), (
            call.to_dict()
        )
        joined = await ami.wait_for(
            lambda e: e.get("Event") == "QueueCallerJoin" and e.get("Uniqueid") == call.uniqueid, 15
        )
        assert joined["Queue"] == "q-kunming-skill-market"
        conn = await ami.wait_for(
            lambda e: (
                e.get("Event") == "AgentConnect" and call.uniqueid in (e.get("Uniqueid"), e.get("Linkedid"))
            ),
            30,
        )
        assert conn["Interface"] == "PJSIP/agent-1001", conn
        assert set(_called(ami, call.uniqueid)) == {"PJSIP/agent-1001"}
        assert any(e.get("type") == "CALL_INCOMING" for e in phones["agent-1001"].events)
        assert not any(e.get("type") == "CALL_INCOMING" for e in phones["agent-1002"].events)
        await ami.conn.action({"Action": "Hangup", "Channel": call.channel})
        await wait_until(lambda: staffed(), 30, "agents free again",
                         check=lambda s: s.get("q-kunming-skill-market") == 2)  # fmt: skip

        # the call row is the platform queue's, with its source hotline
        from app.calls import service as calls

        async def row():
            async with app.state.runtime.db.sessionmaker() as s:
                return await calls.get_call(s, call.uniqueid)

        c = await wait_until(
            row, 30, "call row answered by shi.km", check=lambda c: c is not None and c.agent == "shi.km"
        )
        assert (c.queue, c.platform, c.source_hotline) == ("q-kunming", "kunming", "12315")

        # 2. the skilled agent takes a break: the next 12315 call waits for them, then reaches pu.km
        r = await client.post("/api/agents/me/pause", json={"reason": "休息"}, headers=heads["shi.km"])
        assert r.status_code == 200, r.text
        await wait_until(staffed, 30, "shi.km paused", check=lambda s: s.get("q-kunming-skill-market") == 1)
        call2 = await place_call(
            asterisk.server, KUNMING, dialled="12315", hangup=False, hold_s=60, timeout=30, as_citizen=True
        )
        assert call2.error is None, call2.to_dict()
        conn2 = await ami.wait_for(
            lambda e: (
                e.get("Event") == "AgentConnect" and call2.uniqueid in (e.get("Uniqueid"), e.get("Linkedid"))
            ),
            60,
        )
        assert conn2["Interface"] == "PJSIP/agent-1002", conn2
        # Asterisk's own hold time: nobody was rung before the configured wait
        assert int(conn2["HoldTime"]) >= FALLBACK_S, conn2
        assert set(_called(ami, call2.uniqueid)) == {"PJSIP/agent-1002"}
        await ami.conn.action({"Action": "Hangup", "Channel": call2.channel})

        # 3. a 12345 call is not a skill call: it joins the platform queue
        call3 = await place_call(
            asterisk.server, KUNMING, dialled="12345", hangup=True, timeout=30, as_citizen=True
        )
        assert call3.error is None
        j3 = await ami.wait_for(
            lambda e: e.get("Event") == "QueueCallerJoin" and e.get("Uniqueid") == call3.uniqueid, 15
        )
        assert j3["Queue"] == "q-kunming"
