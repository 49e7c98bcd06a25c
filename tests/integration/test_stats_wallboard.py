"""Wallboard over HTTP and WebSocket, with AMI events fed through the real consumer (no Asterisk):
KPIs by scope, roles, masked numbers, pushes on queue and call events, call-back refusals."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
import time_machine
import websockets

from app.calls.models import Call
from app.db import utcnow
from tests.browser import live_server
from tests.conftest import add_user, make_settings
from tests.integration.test_agents_desktop import feed, member_event, recv_until, token, ws_auth


@pytest.fixture(autouse=True)
def _midday() -> Iterator[None]:
    """'Today' on the wallboard is the Beijing day: pinned to midday so a run across 00:00 Beijing
    time (16:00 UTC) cannot split the seeded calls over two days."""
    with time_machine.travel(datetime(2026, 6, 10, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai")), tick=True):
        yield


async def seed(app) -> None:
    now = utcnow()
    async with app.state.runtime.db.sessionmaker() as s:
        s.add_all(
            [
                Call(
                    uniqueid="d1",
                    caller="13987212345",
                    platform="dali",
                    prefecture="dali",
                    queue="q-dali",
                    queued_at=now,
                    answered_at=now + timedelta(seconds=5),
                    hold_s=5,
                    outcome="completed",
                ),
                Call(
                    uniqueid="d2",
                    caller="13987299999",
                    platform="dali",
                    prefecture="dali",
                    queue="q-dali",
                    queued_at=now,
                    hold_s=40,
                    outcome="abandoned",
                ),
                Call(
                    uniqueid="k1",
                    caller="13888812345",
                    platform="kunming",
                    queue="q-kunming",
                    queued_at=now,
                    answered_at=now + timedelta(seconds=20),
                    hold_s=20,
                    outcome="completed",
                ),
                Call(
                    uniqueid="old",
                    caller="13888800000",
                    platform="kunming",
                    queue="q-kunming",
                    queued_at=now - timedelta(days=2),
                    arrived_at=now - timedelta(days=2),
                    outcome="abandoned",
                ),
            ]
        )
        await s.commit()


async def test_kpis_scopes_and_roles(tmp_path, sqlite_url):
    async with live_server(make_settings(tmp_path, sqlite_url)) as (app, base):
        await add_user(app, "dali.sup", "supervisor", platform="dali")
        await add_user(app, "prov.sup", "supervisor", platform="province")
        await add_user(app, "li.agent", "agent", platform="dali", sip_endpoint="agent-1001")
        await seed(app)
        async with httpx.AsyncClient(base_url=base) as c:
            dali = {"Authorization": f"Bearer {await token(c, 'dali.sup')}"}
            prov = {"Authorization": f"Bearer {await token(c, 'prov.sup')}"}
            agent = {"Authorization": f"Bearer {await token(c, 'li.agent')}"}
            assert (await c.get("/api/stats/kpis", headers=agent)).status_code == 403
            assert (await c.get("/api/stats/kpis?platform=kunming", headers=dali)).status_code == 403
            k = (await c.get("/api/stats/kpis", headers=dali)).json()
            assert k["scope"] == "dali"
            assert (k["all"]["offered"], k["all"]["answered"], k["all"]["abandoned"]) == (2, 1, 1)
            assert (
                k["all"]["answer_rate"] == 0.5
                and k["all"]["within_15s_rate"] == 0.5
                and k["all"]["asa_s"] == 5.0
            )
            k = (await c.get("/api/stats/kpis", headers=prov)).json()
            assert k["scope"] == "all" and k["all"]["offered"] == 3  # the call of two days ago is not today's
            assert k["platforms"]["kunming"]["within_15s_rate"] == 0.0
            plats = [p["code"] for p in (await c.get("/api/stats/platforms", headers=dali)).json()]
            assert plats == ["dali"]
            ab = (await c.get("/api/stats/abandoned", headers=dali)).json()
            assert [(a["uniqueid"], a["caller"]) for a in ab] == [("d2", "139****9999")]
            r = await c.post("/api/stats/abandoned/d2/callback", headers=dali)
            assert r.status_code == 409 and "空闲坐席" in r.json()["detail"]
            r = await c.post("/api/stats/abandoned/k1/callback", headers=dali)
            assert r.status_code == 404  # another prefecture's call does not exist for this supervisor
        ws_base = base.replace("http", "ws")
        async with websockets.connect(
            f"{ws_base}/ws/wallboard?platform=kunming", **ws_auth(dali["Authorization"][7:])
        ) as ws:
            assert (await recv_until(ws, "error"))["detail"] == "无权查看该平台"


async def test_wallboard_pushes_queue_agent_and_kpi_changes(tmp_path, sqlite_url):
    async with live_server(make_settings(tmp_path, sqlite_url)) as (app, base):
        await add_user(app, "dali.sup", "supervisor", platform="dali")
        async with httpx.AsyncClient(base_url=base) as c:
            t = await token(c, "dali.sup")
        async with websockets.connect(f"{base.replace('http', 'ws')}/ws/wallboard", **ws_auth(t)) as ws:
            live = (await recv_until(ws, "live"))["live"]
            assert [q["name"] for q in live["queues"]] == []  # nothing known about q-dali yet
            k = await recv_until(ws, "kpis")
            assert k["kpis"]["all"]["offered"] == 0
            await feed(app, member_event("li.agent", "PJSIP/agent-1001"))
            live = (await recv_until(ws, "live"))["live"]
            assert [(a["name"], a["label"]) for a in live["agents"]] == [("li.agent", "空闲")]
            await feed(
                app,
                {
                    "Event": "QueueCallerJoin",
                    "Queue": "q-dali",
                    "Uniqueid": "c1",
                    "Linkedid": "c1",
                    "CallerIDNum": "13987212345",
                    "Position": "1",
                },
            )
            live = (await recv_until(ws, "live"))["live"]
            assert live["queues"][0]["callers"][0]["caller"] == "139****2345"
            t0 = time.monotonic()
            await feed(
                app,
                {
                    "Event": "QueueCallerAbandon",
                    "Queue": "q-dali",
                    "Uniqueid": "c1",
                    "Position": "1",
                    "OriginalPosition": "1",
                    "HoldTime": "12",
                },
            )
            while True:
                k = await recv_until(ws, "kpis")
                if k["kpis"]["all"]["abandoned"] == 1:
                    break
            assert time.monotonic() - t0 < 2.0
            assert k["kpis"]["all"]["offered"] == 1 and k["abandoned"][0]["uniqueid"] == "c1"
            assert k["abandoned"][0]["hold_s"] == 12
