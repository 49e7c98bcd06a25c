"""A call-back key press while the backend is down is not lost (real sandbox Asterisk, a real softphone
for the agent): the citizen was offered a call-back, the backend's FastAGI then went down, the citizen
presses the key. The dialplan cannot hand the request over, so the citizen is told (the
`queue-callback-unavailable` prompt) and goes back into the queue at their place, where the agent
answers them once free; no call-back request is recorded as taken."""

from __future__ import annotations

import asyncio
import socket
from contextlib import AsyncExitStack

import pytest
from sqlalchemy import select

from app.simcall import place_call
from app.telephony.lifecycle import TELEPHONY
from tests.conftest import add_user, login, running_app
from tests.system.conftest import CITIZEN_PHONE, backend_settings
from tests.system.softphone import AmiWatch, Softphone, _free, clear_queues, free_sip_port
from tests.system.test_queue_callback import BUSY_CALLER, _config, _qcb
from tests.waiting import wait_until

pytestmark = pytest.mark.system


async def test_a_key_press_while_the_backend_is_down_keeps_the_caller_waiting(tmp_path, db_url, asterisk):
    from app.callbacks.models import Callback

    settings = backend_settings(tmp_path, db_url, asterisk, platform_config=_config(tmp_path), wrapup_s=0)
    async with AsyncExitStack() as stack:
        phone = Softphone(tmp_path, "agent-1001", "softphone-pw-1001", asterisk.sip_port, local_port=free_sip_port(),
                          ctrl_port=_free(socket.SOCK_STREAM), answer_after=1.0)  # fmt: skip
        phone.start()
        stack.callback(phone.stop)
        await asyncio.to_thread(phone.wait_registered, asterisk.sandbox.cli)
        app, client = await stack.enter_async_context(running_app(settings))
        stack.push_async_callback(clear_queues, app)
        ami = await stack.enter_async_context(AmiWatch(asterisk))
        await add_user(app, "li.km", "agent", platform="kunming", sip_endpoint="agent-1001")
        h = await login(client, "li.km")
        assert (
            await client.post("/api/agents/me/login", json={"queues": ["q-kunming"]}, headers=h)
        ).status_code == 200
        tel = app.state.runtime.require(TELEPHONY)
        await wait_until(lambda: tel.state.agents_by_queue() or {}, 30, "li.km signed in",
                         check=lambda s: s.get("q-kunming") == 1)  # fmt: skip
        busy = await place_call(
            asterisk.server, BUSY_CALLER, hangup=False, hold_s=300, timeout=30, as_citizen=True
        )
        await ami.wait_for(
            lambda e: e.get("Event") == "AgentConnect" and e.get("Uniqueid") == busy.uniqueid, 30
        )
        call = await place_call(
            asterisk.server, CITIZEN_PHONE, hangup=False, hold_s=300, timeout=30, as_citizen=True
        )
        assert call.error is None, call.to_dict()
        offered = await ami.wait_for(_qcb(call.uniqueid, "offered"), 30)

        # the backend's FastAGI goes down after the offer; the citizen presses the offer's key
        assert tel.agi is not None
        await tel.agi.stop()
        n = len(ami.events)
        citizen_side = call.channel.rsplit(";", 1)[0] + ";1"
        await ami.conn.action({"Action": "PlayDTMF", "Channel": citizen_side, "Digit": offered["Key"]})
        told = await ami.wait_for(_qcb(call.uniqueid, "unavailable"), 30)
        assert told["Agistatus"] == "FAILURE", told
        # back in the same queue at the place they had, still on the line
        rejoined = await ami.wait_for(
            lambda e: e.get("Event") == "QueueCallerJoin" and e.get("Uniqueid") == call.uniqueid
            and ami.events.index(e) >= n, 30,
        )  # fmt: skip
        assert (rejoined["Queue"], rejoined["Position"]) == ("q-kunming", offered["Position"]), rejoined
        assert not any(_qcb(call.uniqueid, "requested")(e) for e in ami.events)

        # the agent is free: the citizen who kept waiting is answered
        await ami.conn.action({"Action": "Hangup", "Channel": busy.channel})
        await ami.wait_for(
            lambda e: e.get("Event") == "AgentConnect" and e.get("Uniqueid") == call.uniqueid, 60
        )
        async with app.state.runtime.db.sessionmaker() as s:
            assert await s.scalar(select(Callback).where(Callback.call_uniqueid == call.uniqueid)) is None
        await ami.conn.action({"Action": "Hangup", "Channel": call.channel})
