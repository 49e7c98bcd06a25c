"""属地接听 through wrap-up: a Dali caller arriving while Dali's only agent is in 话后处理 after a call is
routed to Dali's own queue and answered there by that agent when the wrap-up ends — not sent straight
to the provincial pool (多援一), which is for a prefecture with nobody signed in or everyone on 示忙
(that case: tests/unit/test_queue_signed_in.py, and test_desktop_screenpop's caller while li is 小休).
The real sandbox Asterisk, FastAGI routing and a real softphone (baresip as agent-1001)."""

from __future__ import annotations

import httpx
import pytest

from app.simcall import place_call
from app.telephony.lifecycle import TELEPHONY
from tests.conftest import login
from tests.system.softphone import DALI_MOBILE, AmiWatch, desk
from tests.waiting import wait_until

pytestmark = pytest.mark.system
WRAP_S = 8  # the backend's wrap-up pause after each call (the tests' Asterisk enforces none)


async def test_a_caller_during_the_agents_wrapup_stays_in_the_prefecture(tmp_path, db_url, asterisk):
    async with (
        desk(tmp_path, db_url, asterisk, answer_after=0.5, wrapup_s=WRAP_S) as (app, base, _phone),
        httpx.AsyncClient(base_url=base) as c,
        AmiWatch(asterisk) as ami,
    ):
        state = app.state.runtime.require(TELEPHONY).state
        li = await login(c, "li.dali")
        r = await c.post("/api/agents/me/login", json={"queues": ["q-dali"]}, headers=li)
        assert r.status_code == 200, r.text
        await wait_until(lambda: (state.agents_by_queue() or {}).get("q-dali") == 1, 30, "li staffed in q-dali")

        first = await place_call(asterisk.server, DALI_MOBILE, hangup=False, hold_s=10)
        assert first.queue == "q-dali", first
        await ami.wait_for_complete(first, timeout=60)
        me = await wait_until(
            lambda: c.get("/api/agents/me", headers=li), 15, "li in wrap-up",
            check=lambda r: r.json()["state"] == "wrapup",
        )  # fmt: skip
        assert me.json()["label"] == "话后处理"

        # the next Dali caller, while li is still in wrap-up: Dali's queue, not the province's
        second = await place_call(asterisk.server, "13987254321", hangup=False, hold_s=15)
        assert second.queue == "q-dali", second
        assert (await c.get("/api/agents/me", headers=li)).json()["state"] == "wrapup"  # routed during it
        # …and li answers it once the wrap-up is over
        connect = await ami.wait_for(
            lambda e: e.get("Event") == "AgentConnect" and e.get("Uniqueid") == second.uniqueid,
            timeout=WRAP_S + 30,
        )
        assert "agent-1001" in connect.get("Interface", ""), connect
