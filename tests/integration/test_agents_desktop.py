"""Agent desktop over HTTP and WebSocket, with AMI events fed through the real consumer (no Asterisk):
roles, the screen-pop pushed only to the agent being rung, binding on answer, state from events."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
import websockets

from app.calls import service as calls
from app.telephony.lifecycle import TELEPHONY
from tests.browser import live_server
from tests.conftest import add_user, make_settings


async def feed(app: Any, *events: dict[str, str]) -> None:
    tel = app.state.runtime.require(TELEPHONY)
    await tel.consumer.process([("main", ev, time.time()) for ev in events])


def member_event(
    name: str,
    iface: str,
    queue: str = "q-dali",
    status: str = "1",
    paused: str = "0",
    event: str = "QueueMemberAdded",
    reason: str = "",
) -> dict[str, str]:
    return {
        "Event": event,
        "Queue": queue,
        "MemberName": name,
        "Interface": iface,
        "StateInterface": iface,
        "Status": status,
        "Paused": paused,
        "PausedReason": reason,
    }


def ws_auth(token: str) -> dict[str, Any]:
    """What a browser sends with the WebSocket handshake: the session cookie (never a ?token= URL)."""
    return {"additional_headers": {"Cookie": f"hotline_session={token}"}}


async def token(client: httpx.AsyncClient, username: str) -> str:
    r = await client.post("/api/auth/login", json={"username": username, "password": "correct-horse-42"})
    assert r.status_code == 200, r.text
    client.cookies.clear()  # each request below says who it is by its bearer token only
    return str(r.json()["token"])


async def recv_until(ws: Any, kind: str, timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic())))
        if msg.get("type") == kind:
            return msg  # type: ignore[no-any-return]


async def seed_call(app: Any, uid: str, caller: str, prefecture: str = "dali") -> None:
    async with app.state.runtime.db.sessionmaker() as s:
        await calls.record_decision(
            s,
            uniqueid=uid,
            linkedid=uid,
            channel="Local/12345@hotline-inbound-1;2",
            caller=caller,
            caller_name=None,
            trunk=None,
            decision={
                "route": "queue",
                "platform": prefecture,
                "prefecture": prefecture,
                "queue": f"q-{prefecture}",
            },
        )
        await s.commit()


async def test_roles_on_agent_routes(tmp_path, sqlite_url):
    async with live_server(make_settings(tmp_path, sqlite_url)) as (app, base):
        await add_user(app, "li.agent", "agent", platform="dali", sip_endpoint="agent-1001")
        await add_user(app, "nophone", "agent", platform="dali")
        await add_user(app, "zhao.sup", "supervisor", platform="dali")
        async with httpx.AsyncClient(base_url=base) as c:
            agent = {"Authorization": f"Bearer {await token(c, 'li.agent')}"}
            sup = {"Authorization": f"Bearer {await token(c, 'zhao.sup')}"}
            assert (await c.get("/api/agents/me")).status_code == 401
            me = (await c.get("/api/agents/me", headers=agent)).json()
            assert me["state"] == "logged_out" and me["available_queues"] == ["q-dali"]
            assert me["interface"] == "PJSIP/agent-1001"
            assert (await c.get("/api/agents/me", headers=sup)).status_code == 403
            r = await c.post("/api/agents/me/login", json={"queues": ["q-kunming"]}, headers=agent)
            assert r.status_code == 403 and "q-kunming" in r.json()["detail"]
            r = await c.post("/api/agents/me/login", json={"queues": ["q-dali"]}, headers=agent)
            assert r.status_code == 503  # no Asterisk configured in this test: said plainly
            nophone = {"Authorization": f"Bearer {await token(c, 'nophone')}"}
            r = await c.post("/api/agents/me/login", json={"queues": ["q-dali"]}, headers=nophone)
            assert r.status_code == 409
            assert (await c.get("/api/agents", headers=agent)).status_code == 403
            names = [a["username"] for a in (await c.get("/api/agents", headers=sup)).json()]
            assert names == ["li.agent", "nophone"]
        ws_base = base.replace("http", "ws")
        # no session at the handshake: the first message must authenticate, a forged one is refused
        async with websockets.connect(f"{ws_base}/ws/agent") as ws:
            await ws.send(json.dumps({"type": "auth", "token": "forged"}))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
        with pytest.raises(websockets.InvalidStatus):  # a supervisor is not an agent
            async with websockets.connect(f"{ws_base}/ws/agent", **ws_auth(sup['Authorization'][7:])):
                pass


async def test_screenpop_goes_only_to_the_rung_agent(tmp_path, sqlite_url):
    async with live_server(make_settings(tmp_path, sqlite_url)) as (app, base):
        await add_user(app, "li.agent", "agent", platform="dali", sip_endpoint="agent-1001")
        await add_user(app, "he.agent", "agent", platform="dali", sip_endpoint="agent-1002")
        async with httpx.AsyncClient(base_url=base) as c:
            t1, t2 = await token(c, "li.agent"), await token(c, "he.agent")
        await seed_call(app, "old-1", "13987212345")
        ws_base = base.replace("http", "ws")
        async with (
            websockets.connect(f"{ws_base}/ws/agent", **ws_auth(t1)) as ws1,
            websockets.connect(f"{ws_base}/ws/agent", **ws_auth(t2)) as ws2,
        ):
            assert (await recv_until(ws1, "state"))["state"] == "logged_out"
            await recv_until(ws2, "state")
            await feed(
                app,
                member_event("li.agent", "PJSIP/agent-1001"),
                member_event("he.agent", "PJSIP/agent-1002"),
            )
            s = await recv_until(ws1, "state")
            assert s["state"] == "available" and s["label"] == "空闲" and s["queues"] == ["q-dali"]
            await seed_call(app, "call-2", "13987212345")
            await feed(
                app,
                {
                    "Event": "QueueCallerJoin",
                    "Queue": "q-dali",
                    "Uniqueid": "call-2",
                    "Linkedid": "call-2",
                    "CallerIDNum": "13987212345",
                    "Position": "1",
                },
                {
                    "Event": "AgentCalled",
                    "Queue": "q-dali",
                    "Uniqueid": "call-2",
                    "Linkedid": "call-2",
                    "CallerIDNum": "13987212345",
                    "Interface": "PJSIP/agent-1001",
                    "MemberName": "li.agent",
                    "DestUniqueid": "agent-leg-1",
                },
            )
            pop = await recv_until(ws1, "screenpop")
            assert pop["caller"] == "13987212345" and pop["uniqueid"] == "call-2"
            assert pop["region"] == "云南省大理白族自治州" and pop["prefecture"] == "dali"
            assert pop["waited_s"] is not None and pop["waited_s"] >= 0
            assert [c["uniqueid"] for c in pop["earlier_calls"]] == ["old-1"]
            assert pop["form"]["channel"] == "phone" and pop["form"]["citizen_phone"] == "13987212345"
            assert pop["form"]["call_uniqueid"] is None
            await feed(
                app,
                {
                    "Event": "AgentConnect",
                    "Queue": "q-dali",
                    "Uniqueid": "call-2",
                    "Linkedid": "call-2",
                    "Interface": "PJSIP/agent-1001",
                    "MemberName": "li.agent",
                    "HoldTime": "4",
                    "RingTime": "2",
                },
                member_event("li.agent", "PJSIP/agent-1001", status="2", event="QueueMemberStatus"),
            )
            bound = await recv_until(ws1, "bound")
            assert bound["uniqueid"] == "call-2"
            assert (await recv_until(ws1, "state"))["label"] == "通话中"
            # the other agent saw state pushes only: never this caller's screen-pop
            seen: list[dict[str, Any]] = []
            try:
                while True:
                    seen.append(json.loads(await asyncio.wait_for(ws2.recv(), 0.3)))
            except TimeoutError:
                pass
            assert all(m["type"] == "state" for m in seen)
            assert "13987212345" not in json.dumps(seen)
        async with httpx.AsyncClient(base_url=base) as c:
            last = (await c.get("/api/agents/me/screenpop", headers={"Authorization": f"Bearer {t1}"})).json()
            assert last["uniqueid"] == "call-2" and last["form"]["call_uniqueid"] == "call-2"
            mine = (await c.get("/api/agents/me/calls", headers={"Authorization": f"Bearer {t1}"})).json()
            assert [x["uniqueid"] for x in mine] == ["call-2"]


async def test_pause_reason_and_wrapup_state_come_from_events(tmp_path, sqlite_url):
    async with live_server(make_settings(tmp_path, sqlite_url)) as (app, base):
        await add_user(app, "li.agent", "agent", platform="dali", sip_endpoint="agent-1001")
        async with httpx.AsyncClient(base_url=base) as c:
            t1 = await token(c, "li.agent")
        async with websockets.connect(f"{base.replace('http', 'ws')}/ws/agent", **ws_auth(t1)) as ws1:
            await recv_until(ws1, "state")
            await feed(app, member_event("li.agent", "PJSIP/agent-1001"))
            await recv_until(ws1, "state")
            await feed(
                app,
                {
                    **member_event(
                        "li.agent", "PJSIP/agent-1001", paused="1", event="QueueMemberPause", reason="培训"
                    ),
                    "Reason": "培训",
                },
            )
            s = await recv_until(ws1, "state")
            assert s["state"] == "paused" and s["label"] == "小休（培训）"
            await feed(
                app,
                {
                    **member_event(
                        "li.agent",
                        "PJSIP/agent-1001",
                        paused="1",
                        event="QueueMemberPause",
                        reason="话后处理",
                    ),
                    "Reason": "话后处理",
                },
            )
            assert (await recv_until(ws1, "state"))["label"] == "话后处理"
            await feed(app, member_event("li.agent", "PJSIP/agent-1001", event="QueueMemberRemoved"))
            assert (await recv_until(ws1, "state"))["state"] == "logged_out"


async def test_an_agent_complete_naming_no_channel_still_ends_the_agents_call(tmp_path, sqlite_url):
    """Asterisk 16 fills AgentComplete from the channels' latest snapshots; when the caller's and the
    agent's channels are both gone before its queue thread reports the hang-up (seen on a loaded
    machine), the event names no channel: only the queue, the member and the times. The call is still
    the one AgentConnect gave that member: the desktop hears it ended (通话结束, then wrap-up), the
    call row has Asterisk's talk time."""
    async with live_server(make_settings(tmp_path, sqlite_url)) as (app, base):
        await add_user(app, "li.agent", "agent", platform="dali", sip_endpoint="agent-1001")
        async with httpx.AsyncClient(base_url=base) as c:
            t1 = await token(c, "li.agent")
        for uid in ("call-1", "call-2"):
            await seed_call(app, uid, "13987212345")
        async with websockets.connect(f"{base.replace('http', 'ws')}/ws/agent", **ws_auth(t1)) as ws1:
            await recv_until(ws1, "state")
            await feed(app, member_event("li.agent", "PJSIP/agent-1001"))
            await recv_until(ws1, "state")

            def connect(uid: str) -> dict[str, str]:
                return {"Event": "AgentConnect", "Queue": "q-dali", "Uniqueid": uid, "Linkedid": uid,
                        "Interface": "PJSIP/agent-1001", "MemberName": "li.agent", "HoldTime": "3"}  # fmt: skip

            bare_complete = {"Event": "AgentComplete", "Queue": "q-dali", "Interface": "PJSIP/agent-1001",
                             "MemberName": "li.agent", "HoldTime": "3", "TalkTime": "7", "Reason": "caller"}  # fmt: skip
            # an earlier call of this agent, ended with every id, then the next one ending bare; and
            # once more with the connect and the bare complete in one batch (nothing flushed yet)
            await feed(app, connect("call-1"), {**bare_complete, "Uniqueid": "call-1", "TalkTime": "5"})
            assert (await recv_until(ws1, "complete"))["uniqueid"] == "call-1"
            await feed(app, connect("call-2"))
            assert (await recv_until(ws1, "bound"))["uniqueid"] == "call-2"
            await feed(app, bare_complete)
            assert (await recv_until(ws1, "complete"))["uniqueid"] == "call-2"
            await seed_call(app, "call-3", "13987212345")
            await feed(app, connect("call-3"), {**bare_complete, "TalkTime": "9"})
            assert (await recv_until(ws1, "complete"))["uniqueid"] == "call-3"
        async with app.state.runtime.db.sessionmaker() as s:
            got = {uid: await calls.find(s, uid) for uid in ("call-1", "call-2", "call-3")}
            assert {uid: (c.outcome, c.talk_s) for uid, c in got.items() if c is not None} == {
                "call-1": ("completed", 5), "call-2": ("completed", 7), "call-3": ("completed", 9)
            }
