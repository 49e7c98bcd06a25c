"""Queue call-back (排队回拨) through the real sandbox Asterisk, with real softphones (baresip): the agent's
phone (agent-1001) and the citizen's own phone (agent-1002, the number 13987112001 in the sandbox).

A citizen calls from 13987112001 while the only Kunming agent is busy on a call, waits past the
configured time, hears the one offer (naming the configured key, 3 here), presses 3 and hangs up; another citizen who called later keeps
waiting. When the agent is ready, the queue serves the call-back first (it kept the first caller's
place): the agent's phone rings, then the citizen's phone, and both are connected. The call-back's call
row names the original (abandoned) call, and the original's record lists the call-back leg."""

from __future__ import annotations

import asyncio
import socket
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from app.simcall import place_call
from app.telephony.lifecycle import TELEPHONY
from tests.conftest import add_user, login, running_app
from tests.system.conftest import CITIZEN_PHONE, backend_settings
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

OFFER_AFTER_S = 4
KEY = "3"  # not the default 1: the offer must name the configured key
LATER_CALLER = "13987112999"
BUSY_CALLER = "13987112888"


def _config(tmp: Path) -> Path:
    path = open_all_day_config(tmp)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["queue_callback"] = {"offer_after_s": OFFER_AFTER_S, "key": int(KEY), "answer_s": 15, "ring_s": 30}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _qcb(uid: str, status: str):
    return lambda e: (
        e.get("Event") == "UserEvent" and e.get("UserEvent") == "HotlineQueueCallback"
        and e.get("Status") == status and uid in (e.get("Uniqueid"), e.get("Linkedid"), e.get("Id"))
    )  # fmt: skip


async def test_a_caller_asks_for_a_call_back_keeps_their_place_and_is_called_back(tmp_path, db_url, asterisk):
    from app.callbacks.models import Callback
    from app.calls.models import Call

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
        agent_phone, citizen_phone = phones["agent-1001"], phones["agent-1002"]
        app, client = await stack.enter_async_context(running_app(settings))
        stack.push_async_callback(clear_queues, app)
        ami = await stack.enter_async_context(AmiWatch(asterisk))
        await add_user(
            app, "li.km", "agent", platform="kunming", sip_endpoint="agent-1001", display_name="李昆明"
        )
        await add_user(app, "km.sup", "supervisor", platform="kunming")
        h = await login(client, "li.km")
        assert (
            await client.post("/api/agents/me/login", json={"queues": ["q-kunming"]}, headers=h)
        ).status_code == 200
        state = app.state.runtime.require(TELEPHONY).state
        await wait_until(lambda: state.agents_by_queue() or {}, 30, "li.km signed in",
                         check=lambda s: s.get("q-kunming") == 1)  # fmt: skip
        # the only Kunming agent is busy with another citizen
        busy = await place_call(
            asterisk.server, BUSY_CALLER, hangup=False, hold_s=300, timeout=30, as_citizen=True
        )
        await ami.wait_for(
            lambda e: e.get("Event") == "AgentConnect" and e.get("Uniqueid") == busy.uniqueid, 30
        )

        # the citizen calls and waits; another citizen calls a little later
        call = await place_call(
            asterisk.server, CITIZEN_PHONE, hangup=False, hold_s=300, timeout=30, as_citizen=True
        )
        assert (call.error, call.queue) == (None, "q-kunming"), call.to_dict()
        later = await place_call(
            asterisk.server, LATER_CALLER, hangup=False, hold_s=300, timeout=30, as_citizen=True
        )
        assert later.error is None, later.to_dict()

        # after the configured wait: the one offer; the citizen presses 1 (the key travels from the
        # citizen's side of the call, like a phone's keypad) and hangs up
        offered = await ami.wait_for(_qcb(call.uniqueid, "offered"), 30)
        assert (offered["Queue"], offered["Position"], offered["Key"]) == ("q-kunming", "1", KEY)
        # what the offer played (the files Read was given): "…请按" 三 "键…", each a real prompt file
        played = [Path(f) for f in offered["Prompt"].split("&")]
        assert [f.name for f in played] == ["queue-callback-offer", f"key-{KEY}", "queue-callback-offer-end"]
        assert all(f.with_suffix(".wav").is_file() for f in played), played
        citizen_side = call.channel.rsplit(";", 1)[0] + ";1"
        await ami.conn.action({"Action": "PlayDTMF", "Channel": citizen_side, "Digit": KEY})
        await ami.wait_for(_qcb(call.uniqueid, "requested"), 30)
        await ami.conn.action({"Action": "Hangup", "Channel": call.channel})

        # the backend left a placeholder at the citizen's place: ahead of the later caller
        async def request() -> Callback | None:
            async with app.state.runtime.db.sessionmaker() as s:
                return await s.scalar(select(Callback).where(Callback.call_uniqueid == call.uniqueid))

        cb = await wait_until(request, 30, "the call-back request", check=lambda c: c is not None)
        assert (cb.number, cb.requested_by, cb.status) == (CITIZEN_PHONE, "caller", "queued")
        placeholder = f"{cb.channel_id}-2"
        joined = await ami.wait_for(
            lambda e: e.get("Event") == "QueueCallerJoin" and e.get("Uniqueid") == placeholder, 30
        )
        assert (joined["Queue"], joined["Position"]) == ("q-kunming", "1"), joined
        # the later caller was offered too, declined by not pressing, and waits behind it
        await ami.wait_for(_qcb(later.uniqueid, "declined"), 40)
        assert not any(e.get("type") == "CALL_INCOMING" for e in citizen_phone.events)

        # the agent is free: the queue serves the call-back first; the agent's phone rings and answers,
        # then the citizen's own phone rings and answers: they are connected
        rang = sum(1 for e in agent_phone.events if e.get("type") == "CALL_INCOMING")
        n = len(ami.events)
        await ami.conn.action({"Action": "Hangup", "Channel": busy.channel})
        first = await ami.wait_for(
            lambda e: e.get("Event") == "AgentConnect" and ami.events.index(e) >= n, 60
        )
        assert first.get("Uniqueid") == placeholder and first.get("Interface") == "PJSIP/agent-1001", first
        assert sum(1 for e in agent_phone.events if e.get("type") == "CALL_INCOMING") == rang + 1
        await ami.wait_for(_qcb(cb.channel_id, "dialing"), 30)
        await ami.wait_for(_qcb(cb.channel_id, "connected"), 60)
        assert any(e.get("type") == "CALL_INCOMING" for e in citizen_phone.events)
        await wait_until(lambda: [e.get("type") for e in citizen_phone.events], 30, "the citizen's phone to be connected",
                         check=lambda types: "CALL_ESTABLISHED" in types)  # fmt: skip
        cb = await wait_until(request, 30, "the call-back connected", check=lambda c: c.status == "connected")
        assert cb.agent == "li.km"

        # the call rows are linked: the call-back's names the original, the original (abandoned) lists it
        async with app.state.runtime.db.sessionmaker() as s:
            back = await s.scalar(select(Call).where(Call.uniqueid == placeholder))
            orig = await s.scalar(select(Call).where(Call.uniqueid == call.uniqueid))
        assert (back.callback_of, back.direction, back.queue, back.agent) == (
            call.uniqueid,
            "out",
            "q-kunming",
            "li.km",
        )
        assert orig.outcome == "abandoned"
        hs = await login(client, "km.sup")
        rec = (await client.get(f"/api/calls/{call.uniqueid}/legs", headers=hs)).json()
        assert rec["outcome"] == "abandoned"
        assert [
            (leg["kind"], leg["uniqueid"], leg["agent"]) for leg in rec["legs"] if leg["kind"] == "callback"
        ] == [("callback", placeholder, "li.km")]
        assert (await client.get(f"/api/calls/{placeholder}/legs", headers=hs)).json()[
            "callback_of"
        ] == call.uniqueid
        # the wallboard's abandoned list shows the call-back on the abandoned call
        rows = (await client.get("/api/stats/abandoned", headers=hs)).json()
        mine = [
            r
            for r in (rows if isinstance(rows, list) else rows.get("items", []))
            if r["uniqueid"] == call.uniqueid
        ]
        assert mine and mine[0]["callback"]["status"] == "connected", rows
        await ami.conn.action({"Action": "Hangup", "Channel": later.channel})
