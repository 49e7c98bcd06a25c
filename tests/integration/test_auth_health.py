"""Health, login and role checks over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import time_machine

from tests.conftest import add_user, login

SH = ZoneInfo("Asia/Shanghai")


async def test_health_reports_database_and_calendar(app_client):
    app, client = app_client
    r = await client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["database"]["ok"] is True
    assert 2026 in body["calendar"]["covered_years"]
    # on a day of a year no library knows (and no administrator loaded), and of the year after:
    # loud warnings, not a silent guess. The clock is pinned, so a library release changes nothing.
    with time_machine.travel(datetime(2099, 3, 3, 10, 0, tzinfo=SH), tick=True):
        body = (await client.get("/health")).json()
    warnings = body["calendar"]["warnings"]
    assert len(warnings) == 2 and "2099" in warnings[0] and "2100" in warnings[1], warnings
    assert body["status"] == "warning"


async def test_login_wrong_password_refused_and_password_hashed(app_client):
    app, client = app_client
    await add_user(app, "li.agent", "agent", platform="dali")
    r = await client.post("/api/auth/login", json={"username": "li.agent", "password": "nope"})
    assert r.status_code == 401
    assert r.json()["detail"] == "用户名或密码错误"
    from sqlalchemy import select

    from app.auth.models import User

    async with app.state.runtime.db.sessionmaker() as s:
        u = await s.scalar(select(User).where(User.username == "li.agent"))
    assert u is not None and u.password_hash.startswith("$argon2")
    assert "correct-horse-42" not in u.password_hash


async def test_calls_api_needs_login_and_role(app_client):
    app, client = app_client
    assert (await client.get("/api/calls")).status_code == 401
    await add_user(app, "unit1", "unit", unit_code="water")
    h = await login(client, "unit1")
    r = await client.get("/api/calls", headers=h)
    assert r.status_code == 403
    assert "unit" in r.json()["detail"]
    r = await client.get("/api/calls", headers={"Authorization": "Bearer forged.token.value"})
    assert r.status_code == 401


async def test_prefecture_agent_sees_only_own_platform_calls(app_client):
    app, client = app_client
    from app.calls import service

    async with app.state.runtime.db.sessionmaker() as s:
        for uid, plat in (("c-dali", "dali"), ("c-km", "kunming")):
            await service.record_decision(
                s,
                uniqueid=uid,
                linkedid=uid,
                channel="Local/x",
                caller="13987212345",
                caller_name=None,
                trunk=None,
                decision={"route": "queue", "platform": plat, "queue": f"q-{plat}"},
            )
        await s.commit()
    await add_user(app, "dali.agent", "agent", platform="dali")
    await add_user(app, "prov.sup", "supervisor", platform="province")
    r = await client.get("/api/calls", headers=await login(client, "dali.agent"))
    assert [c["uniqueid"] for c in r.json()["items"]] == ["c-dali"]
    assert (await client.get("/api/calls/c-km", headers=await login(client, "dali.agent"))).status_code == 404
    r = await client.get("/api/calls", headers=await login(client, "prov.sup"))
    assert {c["uniqueid"] for c in r.json()["items"]} == {"c-dali", "c-km"}
