"""Sessions as app/db.py hands them out: GET requests read without a transaction on PostgreSQL (no
BEGIN/ROLLBACK round trips), a read session that would write is refused rather than half-applied, and
pooled connections that PostgreSQL ended while idle are replaced before a request sees them."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import text

from app.auth.models import User
from app.db import ReadOnlySessionError
from app.pg import dsn
from tests.conftest import add_user, login, make_settings, running_app

pg_only = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


async def end_pooled_connections(db_url: str) -> int:
    """PostgreSQL ends the service's pooled connections (as a restart would): how many it ended."""
    admin = await asyncpg.connect(dsn(db_url))
    try:
        return int(
            await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND application_name NOT LIKE 'hotline-%'"
            )
        )
    finally:
        await admin.close()


@pg_only
async def test_reads_on_postgresql_run_without_a_transaction(tmp_path, db_url):
    async with running_app(make_settings(tmp_path, db_url)) as (app, _c):
        db = app.state.runtime.db
        admin = await asyncpg.connect(dsn(db_url))
        state = "SELECT state FROM pg_stat_activity WHERE pid = $1"
        try:
            async with db.read_sessionmaker() as s:
                pid = await s.scalar(text("SELECT pg_backend_pid()"))
                assert await admin.fetchval(state, pid) == "idle"  # no transaction left open
            async with db.sessionmaker() as s:
                pid = await s.scalar(text("SELECT pg_backend_pid()"))
                assert await admin.fetchval(state, pid) == "idle in transaction"
        finally:
            await admin.close()


async def test_a_read_session_that_would_write_is_refused_and_writes_nothing(tmp_path, db_url):
    async with running_app(make_settings(tmp_path, db_url)) as (app, _c):
        db = app.state.runtime.db
        async with db.read_sessionmaker() as s:
            s.add(User(username="ghost", password_hash="x", role="agent"))
            with pytest.raises(ReadOnlySessionError, match="read-only"):
                await s.flush()
        async with db.sessionmaker() as s:
            assert await s.scalar(text("SELECT count(*) FROM users WHERE username = 'ghost'")) == 0


@pg_only
async def test_requests_succeed_after_postgresql_ended_the_idle_pooled_connections(tmp_path, db_url):
    settings = make_settings(tmp_path, db_url, db_ping_idle_s=0.2, session_cache_ttl_s=0)
    async with running_app(settings) as (app, c):
        await add_user(app, "li.agent", "agent", platform="kunming")
        h = await login(c, "li.agent")
        assert (await c.get("/api/cases?limit=5", headers=h)).status_code == 200
        assert await end_pooled_connections(db_url) >= 1, "no pooled connection to end"
        await asyncio.sleep(0.5)  # idle past db_ping_idle_s: each is checked when next handed out
        for _ in range(3):
            r = await c.get("/api/cases?limit=5", headers=h)
            assert r.status_code == 200, r.text
        r = await c.post(
            "/api/cases",
            headers=h,
            json={"channel": "phone", "type": "consultation", "summary": "咨询公积金提取", "citizen_phone": "13900000001"},
        )
        assert r.status_code == 201, r.text
