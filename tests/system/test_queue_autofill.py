"""Several citizens waiting and several free agents: every free agent's phone rings at once.

Asterisk 16's queues default to ``autofill = no``: only the caller at the head of the queue is offered
to an agent, and the next caller waits until that one is answered or the ring times out (15 s), even
with 200 agents free. The rendered queues set ``autofill = yes``. Here three simulated agents' phones
ring for 30 s without answering (longer than the queue's 15 s ring timeout), so without autofill the
second citizen could only be offered after the first ring timed out (AgentRingNoAnswer)."""

from __future__ import annotations

import asyncio

import pytest

from app.simcall import place_call
from tests.system.softphone import AmiWatch
from tests.waiting import wait_until

pytestmark = pytest.mark.system

QUEUE = "q-province"  # no backend runs here: FastAGI is down, so calls take the dialplan's fallback queue
PHONES = [f"Local/{8870 + i}@hotline-sim-agent/n" for i in range(3)]


async def test_three_waiting_citizens_ring_three_free_agents_at_once(asterisk):
    async with AmiWatch(asterisk) as ami:
        conn = ami.conn
        await conn.action({"Action": "Setvar", "Variable": "SIM_RING", "Value": "30"})  # global: phones ring 30 s
        calls = []
        try:
            for i, iface in enumerate(PHONES):
                await conn.action(
                    {
                        "Action": "QueueAdd",
                        "Queue": QUEUE,
                        "Interface": iface,
                        "MemberName": f"autofill-{i}",
                        "StateInterface": f"Custom:simagent-{8870 + i}",
                        "Paused": "false",
                    }
                )
            calls = await asyncio.gather(
                *(place_call(asterisk.server, f"1398710000{i}", hangup=False, hold_s=60, conn=conn) for i in range(3))
            )
            assert [c.queue for c in calls] == [QUEUE] * 3, calls
            ours = {c.uniqueid for c in calls}

            def rung() -> set[str]:
                return {e["Uniqueid"] for e in ami.events if e.get("Event") == "AgentCalled" and e.get("Uniqueid") in ours}

            await wait_until(lambda: rung() == ours, 60, "all three waiting citizens offered to an agent")
            offered: set[str] = set()
            before_all_offered = []  # what happened to our calls before the last of them was offered
            for e in ami.events:
                if e.get("Uniqueid") not in ours:
                    continue
                if e.get("Event") == "AgentCalled":
                    offered.add(e["Uniqueid"])
                    if offered == ours:
                        break
                elif e.get("Event") in ("AgentRingNoAnswer", "AgentConnect"):
                    before_all_offered.append(e["Event"])
            assert before_all_offered == [], "a citizen waited for another's ring to time out before being offered"
            rang = {e["Interface"] for e in ami.events if e.get("Event") == "AgentCalled" and e.get("Uniqueid") in ours}
            assert rang == set(PHONES)
        finally:
            for c in calls:
                if c.channel:
                    try:
                        await conn.action({"Action": "Hangup", "Channel": c.channel}, timeout=5)
                    except Exception:  # noqa: BLE001 - best-effort cleanup of the shared sandbox
                        pass
            for iface in PHONES:
                try:
                    await conn.action({"Action": "QueueRemove", "Queue": QUEUE, "Interface": iface})
                except Exception:  # noqa: BLE001
                    pass
            await conn.action({"Action": "Setvar", "Variable": "SIM_RING", "Value": ""})
