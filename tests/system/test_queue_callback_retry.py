"""An unanswered queue call-back (排队回拨) is tried again, a bounded number of times, through the real
sandbox Asterisk and real softphones: the agent's phone (agent-1001, answers) and the citizen's own
phone (agent-1002, the number 13987112001, which rings but is never picked up).

The citizen asks for a call-back and hangs up; the agent takes the placeholder, the citizen's phone
rings unanswered: the wallboard's abandoned list shows the call-back waiting for another try (attempt
1, the next attempt's time). After the configured interval a new placeholder joins the queue, the agent
takes it, the citizen's phone rings again, unanswered: with one retry configured the call-back is
given up (已放弃) after 2 attempts, and the original call's record lists both call-back legs."""

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
from tests.system.test_queue_callback import BUSY_CALLER, OFFER_AFTER_S, _qcb
from tests.waiting import wait_until

pytestmark = pytest.mark.system


def _config(tmp: Path) -> Path:
    path = open_all_day_config(tmp)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["queue_callback"] = {"offer_after_s": OFFER_AFTER_S, "key": 1, "answer_s": 15, "ring_s": 5,
                              "retries": 1, "retry_interval_s": 5}  # fmt: skip
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


async def test_an_unanswered_call_back_is_retried_then_given_up(tmp_path, db_url, asterisk):
    from app.callbacks.models import Callback

    settings = backend_settings(tmp_path, db_url, asterisk, platform_config=_config(tmp_path), wrapup_s=0)
    async with AsyncExitStack() as stack:
        phones = {}
        for ep, pw, answer in (("agent-1001", "softphone-pw-1001", 1.0), ("agent-1002", "softphone-pw-1002", None)):
            phone = Softphone(tmp_path, ep, pw, asterisk.sip_port, local_port=free_sip_port(),
                              ctrl_port=_free(socket.SOCK_STREAM), answer_after=answer)  # fmt: skip
            phone.start()
            stack.callback(phone.stop)
            phones[ep] = phone
        for phone in phones.values():
            await asyncio.to_thread(phone.wait_registered, asterisk.sandbox.cli)
        citizen_phone = phones["agent-1002"]
        app, client = await stack.enter_async_context(running_app(settings))
        stack.push_async_callback(clear_queues, app)
        ami = await stack.enter_async_context(AmiWatch(asterisk))
        await add_user(app, "li.km", "agent", platform="kunming", sip_endpoint="agent-1001")
        await add_user(app, "km.sup", "supervisor", platform="kunming")
        h = await login(client, "li.km")
        assert (
            await client.post("/api/agents/me/login", json={"queues": ["q-kunming"]}, headers=h)
        ).status_code == 200
        state = app.state.runtime.require(TELEPHONY).state
        await wait_until(lambda: state.agents_by_queue() or {}, 30, "li.km signed in",
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
        await ami.wait_for(_qcb(call.uniqueid, "offered"), 30)
        citizen_side = call.channel.rsplit(";", 1)[0] + ";1"
        await ami.conn.action({"Action": "PlayDTMF", "Channel": citizen_side, "Digit": "1"})
        await ami.wait_for(_qcb(call.uniqueid, "requested"), 30)
        await ami.conn.action({"Action": "Hangup", "Channel": call.channel})

        async def request() -> Callback | None:
            async with app.state.runtime.db.sessionmaker() as s:
                return await s.scalar(select(Callback).where(Callback.call_uniqueid == call.uniqueid))

        first = await wait_until(request, 30, "the call-back request", check=lambda c: c is not None)
        hs = await login(client, "km.sup")

        async def on_wallboard() -> dict:
            rows = (await client.get("/api/stats/abandoned", headers=hs)).json()
            rows = rows if isinstance(rows, list) else rows.get("items", [])
            return next(r for r in rows if r["uniqueid"] == call.uniqueid)["callback"]

        # the agent is free: takes the placeholder; the citizen's phone rings, nobody answers
        await ami.conn.action({"Action": "Hangup", "Channel": busy.channel})
        await ami.wait_for(_qcb(first.channel_id, "dialing"), 60)
        ended = await ami.wait_for(_qcb(first.channel_id, "ended"), 60)
        assert ended["Dialstatus"] == "NOANSWER", ended
        assert any(e.get("type") == "CALL_INCOMING" for e in citizen_phone.events)
        shown = await wait_until(on_wallboard, 30, "the call-back waiting for another try",
                                 check=lambda cb: cb["status"] == "retry")  # fmt: skip
        assert shown["attempts"] == 1 and shown["next_attempt_at"], shown
        assert "未接听" in shown["detail"], shown

        # after the interval: a new placeholder (new channel id) in the queue, taken by the agent; the
        # citizen's phone rings a second time, unanswered again: the retries are spent
        second = await wait_until(request, 60, "the second attempt", check=lambda c: c.attempts == 2)
        assert second.channel_id != first.channel_id
        await ami.wait_for(
            lambda e: e.get("Event") == "QueueCallerJoin" and e.get("Uniqueid") == f"{second.channel_id}-2", 60
        )
        again = await ami.wait_for(_qcb(second.channel_id, "ended"), 60)
        assert again["Dialstatus"] == "NOANSWER", again
        shown = await wait_until(on_wallboard, 30, "the call-back given up", check=lambda cb: cb["status"] == "gave_up")
        assert (shown["attempts"], shown["next_attempt_at"]) == (2, None), shown
        assert "已放弃" in shown["detail"] and "2 次" in shown["detail"], shown
        assert sum(1 for e in citizen_phone.events if e.get("type") == "CALL_INCOMING") == 2

        # no third attempt, and the original call's record lists both call-back legs
        rec = (await client.get(f"/api/calls/{call.uniqueid}/legs", headers=hs)).json()
        legs = [leg["uniqueid"] for leg in rec["legs"] if leg["kind"] == "callback"]
        assert sorted(legs) == sorted([f"{first.channel_id}-2", f"{second.channel_id}-2"]), rec
        assert (await request()).attempts == 2
