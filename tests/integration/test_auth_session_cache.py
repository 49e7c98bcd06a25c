"""The session cache (app/auth/cache.py, docs/adr/session-cache.md): reads skip the user query while a
checked session is fresh, yet logout, a password change and disabling take effect on the very next
request, and a session ended where no hub runs (the CLI, another process) within the cache's lifetime.
Also: GET case and the case list answer from ONE SQL statement once the session is cached."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event, update

from app.auth.cache import SessionCache
from app.auth.models import User
from tests.conftest import add_user, login, make_settings, running_app
from tests.integration.test_cases_helpers import world
from tests.waiting import wait_until


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_cache_trusts_an_entry_only_for_its_version_and_lifetime():
    clock = Clock()
    cache = SessionCache(2.0, capacity=2, clock=clock)
    u = User(id=1, username="a", session_version=3)
    cache.put(u)
    assert cache.get(1, 3) is u
    assert cache.get(1, 2) is None and cache.get(1, 4) is None  # another session version: ask the database
    clock.now += 2.0
    assert cache.get(1, 3) is None  # expired
    cache.put(u)
    cache.evict(1)
    assert cache.get(1, 3) is None
    for i in (1, 2, 3):
        cache.put(User(id=i, username=str(i), session_version=0))
    assert cache.get(1, 0) is None and cache.get(3, 0) is not None  # capacity: the oldest goes
    off = SessionCache(0)
    off.put(u)
    assert off.get(1, 3) is None  # ttl 0: no cache


async def _me(client: Any, headers: dict[str, str]) -> int:
    return int((await client.get("/api/auth/me", headers=headers)).status_code)


async def test_logout_password_and_disabling_end_a_cached_session_at_once(tmp_path, db_url):
    async with running_app(make_settings(tmp_path, db_url, session_cache_ttl_s=3600)) as (app, c):
        cache = app.state.runtime.sessions
        await add_user(app, "li.agent", "agent", platform="dali")
        await add_user(app, "root", "admin")
        admin = await login(c, "root")

        h = await login(c, "li.agent")
        assert await _me(c, h) == 200 and await _me(c, h) == 200
        assert cache.hits >= 1  # the second read was answered from the cache
        assert (await c.post("/api/auth/logout", headers=h)).status_code == 204
        c.cookies.clear()
        assert await _me(c, h) == 401  # an hour of cache lifetime left, yet refused

        h = await login(c, "li.agent")
        c.cookies.clear()
        assert await _me(c, h) == 200
        r = await c.post(
            "/api/auth/password",
            json={"current_password": "correct-horse-42", "new_password": "battery-staple-9"},
            headers=h,
        )
        assert r.status_code == 200
        c.cookies.clear()
        assert await _me(c, h) == 401
        h = {"Authorization": f"Bearer {r.json()['token']}"}
        assert await _me(c, h) == 200

        r = await c.post("/api/admin/users/li.agent/password", json={"password": "new-horse-77"}, headers=admin)
        assert r.status_code == 200, r.text
        assert await _me(c, h) == 401  # an administrator's reset ends it too

        h = await login(c, "li.agent", "new-horse-77")
        c.cookies.clear()
        assert (await c.get("/api/cases", headers=h)).status_code == 403  # must change the password first
        r = await c.post(
            "/api/auth/password",
            json={"current_password": "new-horse-77", "new_password": "battery-staple-10"},
            headers=h,
        )
        h = {"Authorization": f"Bearer {r.json()['token']}"}
        c.cookies.clear()
        assert await _me(c, h) == 200 and await _me(c, h) == 200
        r = await c.post("/api/admin/users/li.agent/disable", headers=admin)
        assert r.status_code == 200
        assert await _me(c, h) == 401
        assert (await c.get("/api/cases", headers=h)).status_code == 401


async def test_a_session_ended_elsewhere_is_refused_within_the_cache_lifetime(tmp_path, sqlite_url):
    """`hotline user disable` runs in its own process (no event reaches this one): the cached session
    is refused once its entry expires."""
    async with running_app(make_settings(tmp_path, sqlite_url, session_cache_ttl_s=0.5)) as (app, c):
        await add_user(app, "li.agent", "agent", platform="dali")
        h = await login(c, "li.agent")
        c.cookies.clear()
        assert await _me(c, h) == 200
        async with app.state.runtime.db.sessionmaker() as s:  # what the CLI does, in another process
            await s.execute(
                update(User).where(User.username == "li.agent").values(active=False, session_version=User.session_version + 1)
            )
            await s.commit()
        await wait_until(lambda: _me(c, h), 30, "the disabled user's session refused", check=lambda s: s == 401)


class Statements:
    """The statements this task sends to the database — through SQLAlchemy's cursor or, for the hot
    reads on PostgreSQL, asyncpg's own fetch (app.driver_reads) — (the in-process client serves the
    request in the caller's task); a background scheduler's query at the same moment is not the
    request's."""

    def __init__(self, db: Any) -> None:
        self.sql: list[str] = []
        self.db = db
        self.engine = db.engine.sync_engine
        self.task = asyncio.current_task()

    def _on(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if asyncio.current_task() is not self.task:
            return
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):  # SQLite's own BEGIN
            self.sql.append(statement)

    def __enter__(self) -> Statements:
        event.listen(self.engine, "before_cursor_execute", self._on)
        reads = self.db.driver_reads
        fetch = reads.fetch

        async def counted(conn: Any, ds: Any, params: dict[str, Any]) -> Any:
            if asyncio.current_task() is self.task:
                self.sql.append(ds.sql)
            return await fetch(conn, ds, params)

        reads.fetch = counted
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._on)
        del self.db.driver_reads.fetch  # the class's method again


async def test_get_case_and_the_list_are_one_statement_each(tmp_path, db_url):
    # sessions stay cached for the whole test: on a starved machine the 2-s default expired between
    # the warm-up reads and the measured ones, and the session check was counted (expiry: above)
    async with world(tmp_path, db_url, session_cache_ttl_s=3600) as w:
        n = (await w.create())["case"]["number"]
        c = await w.act("km.agent", n, "dispatch", unit_code="km-water", co_units=["km-power", "km-housing"])
        await w.create(summary="路灯不亮")
        for who in ("km.agent", "water.h", "power.h"):
            await w.get(who, n)  # checks (and caches) each session
        db = w.runtime.db
        for who in ("km.agent", "power.h"):
            with Statements(db) as st:
                got = await w.get(who, n)
            assert len(st.sql) == 1, st.sql
            assert got["co_units"] == ["km-power", "km-housing"] == c["co_units"]
            assert [e["action"] for e in got["events"]] == ["create", "dispatch"]
        with Statements(db) as st:
            r = await w.client.get("/api/cases?limit=1", headers=w.h["km.agent"])
        assert r.status_code == 200 and len(st.sql) == 1, st.sql
        assert r.json()["total"] == 2 and len(r.json()["items"]) == 1
        r = await w.client.get("/api/cases", headers=w.h["km.agent"])
        items = {i["number"]: i for i in r.json()["items"]}
        assert items[n]["co_units"] == ["km-power", "km-housing"]
        assert [i["co_units"] for i in items.values() if i["number"] != n] == [[]]
        r = await w.client.get("/api/cases?offset=5", headers=w.h["km.agent"])
        assert r.json() == {"items": [], "total": 2}  # past the end: still the total
        r = await w.client.get("/api/cases", headers=w.h["water.h"])
        assert [i["number"] for i in r.json()["items"]] == [n]  # a unit sees only its cases
        await w.get("dlwater.h", n, expect=404)
