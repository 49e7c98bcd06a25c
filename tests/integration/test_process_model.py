"""Several backend processes on one PostgreSQL database (docs/adr/process-model.md): migrations run
once whoever starts first, one leader per role and another takes over when it is killed, events
cross processes on the bus (large ones too, never twice, side effects only where they happened),
and a lost bus reconnects and tells the pages to resync. SQLite refuses more than one worker."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pytest

from app.bus import PgBus
from app.events import Event, EventHub
from app.pg import Leader, dsn
from tests.conftest import REPO
from tests.waiting import wait_until


def _env(tmp_path: Path, url: str) -> dict[str, str]:
    return {**os.environ, "HOTLINE_VAR_DIR": str(tmp_path / "var"), "HOTLINE_DATABASE_URL": url}


@pytest.fixture
def pg_url(db_url: str) -> str:
    if not db_url.startswith("postgresql"):
        pytest.fail("parametrised below to PostgreSQL only")
    return db_url


pg_only = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


@pg_only
def test_three_processes_migrating_at_once_migrate_once(tmp_path: Path, pg_url: str) -> None:
    env = _env(tmp_path, pg_url)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "app.cli", "migrate"], cwd=REPO, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=180)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outs

    async def read() -> tuple[list[str], int]:
        conn = await asyncpg.connect(dsn(pg_url))
        try:
            rows = await conn.fetch("SELECT version_num FROM alembic_version")
            tables = await conn.fetchval(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'telephony_live_state'"
            )
        finally:
            await conn.close()
        return [r["version_num"] for r in rows], int(tables)

    versions, tables = asyncio.run(read())
    assert len(versions) == 1, versions  # one head, recorded once
    assert tables == 1


def test_more_than_one_worker_on_sqlite_is_refused_with_the_reason(tmp_path: Path) -> None:
    env = _env(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'h.db'}")
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "run", "--no-asterisk", "--workers", "2"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 2
    assert "--workers > 1 needs PostgreSQL" in out.stderr and "SQLite" in out.stderr
    assert not (tmp_path / "h.db").exists()  # nothing started, nothing created
    agi = subprocess.run(
        [sys.executable, "-m", "app.cli", "agi"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert agi.returncode == 2 and "PostgreSQL" in agi.stderr
    http = subprocess.run(
        [sys.executable, "-m", "app.cli", "http", "--workers", "2"], cwd=REPO, env=env,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert http.returncode == 2 and "needs PostgreSQL" in http.stderr


HOLDER = """
import asyncio, sys
from app.pg import Leader

async def main():
    async def elected():
        print("leading", flush=True)
    async def nothing():
        pass
    leader = Leader(sys.argv[1], "ami:test", on_elected=elected, on_deposed=nothing, interval_s=0.2)
    await leader.start()
    await asyncio.sleep(3600)

asyncio.run(main())
"""


@pg_only
async def test_a_killed_leader_is_replaced(pg_url: str) -> None:
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLDER, pg_url, cwd=REPO, stdout=asyncio.subprocess.PIPE
    )
    elected: list[float] = []

    async def on_elected() -> None:
        elected.append(time.monotonic())

    async def on_deposed() -> None:
        pass

    mine = Leader(pg_url, "ami:test", on_elected=on_elected, on_deposed=on_deposed, interval_s=0.2)
    other = Leader(pg_url, "ami:other", on_elected=on_elected, on_deposed=on_deposed, interval_s=0.2)
    try:
        assert holder.stdout is not None
        line = await asyncio.wait_for(holder.stdout.readline(), 60)
        assert line.strip() == b"leading"
        await mine.start()
        await other.start()
        assert other.leading  # another role: its own lock
        await asyncio.sleep(0.6)  # three tries of the follower while the holder lives
        assert not mine.leading
        killed = time.monotonic()
        os.kill(holder.pid, signal.SIGKILL)
        await wait_until(lambda: mine.leading, 30, "this process to take the killed leader's place")
        print(f"takeover after the leader was killed: {elected[-1] - killed:.2f} s")
    finally:
        if holder.returncode is None:
            holder.kill()
        await asyncio.wait_for(holder.wait(), 30)
        await mine.stop()
        await other.stop()


@pg_only
async def test_a_slow_check_keeps_the_lock_and_a_lost_connection_gives_it_up(pg_url: str) -> None:
    """The leader's lock lives with its connection: a check PostgreSQL answers late (its backend
    stopped for a few seconds, as on a loaded machine) must not depose the leader, which would drop
    the AMI events meanwhile; a connection PostgreSQL ends must (and the lock is taken again)."""
    log: list[str] = []

    async def elected() -> None:
        log.append("elected")

    async def deposed() -> None:
        log.append("deposed")

    leader = Leader(pg_url, "ami:slow", on_elected=elected, on_deposed=deposed, interval_s=0.2, grace_s=15)
    admin = await asyncpg.connect(dsn(pg_url))
    try:
        await leader.start()
        assert leader.leading and log == ["elected"]
        backend = await admin.fetchval(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'hotline-leader-ami:slow'"
        )
        os.kill(backend, signal.SIGSTOP)  # the lock's backend answers nothing for 3 s
        try:
            await asyncio.sleep(3)
            assert leader.leading, "a late answer deposed the leader"
        finally:
            os.kill(backend, signal.SIGCONT)
        await asyncio.sleep(1)
        assert leader.leading and log == ["elected"], log
        # PostgreSQL ends the lock's connection: the lock is gone, the leader steps down, then wins again
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", backend)
        await wait_until(lambda: log[-2:] == ["deposed", "elected"], 30, "the leader to step down and win again")
        assert leader.leading
    finally:
        await leader.stop()
        await admin.close()


async def _bus(url: str, hub: EventHub, reconnects: list[int]) -> PgBus:
    async def reconnected() -> None:
        reconnects.append(1)
        await hub.publish_local(Event("bus.reconnected"))
        hub.close_sockets()

    bus = PgBus(url, hub.deliver_remote, reconnected, retry_s=0.1)
    await bus.start()
    hub.attach(bus.send)
    return bus


@pg_only
async def test_a_burst_crosses_in_order_each_event_once_even_two_equal_ones(pg_url: str) -> None:
    """A burst goes as batches (one round trip each): the other process still gets every event once, in
    publication order, a large one in its place and two equal events as two (PostgreSQL folds equal
    notifications of one transaction)."""
    a, b = EventHub(), EventHub()
    rec: list[int] = []
    bus_a, bus_b = await _bus(pg_url, a, rec), await _bus(pg_url, b, rec)
    qb = b.queue()
    history = "、".join(f"第{i}次来电：反映路灯不亮，已转办" for i in range(400))
    sent = [Event("call.created", {"n": i}) for i in range(300)]
    sent[150:150] = [Event("agent.screenpop", {"history": history})]
    sent[10:10] = [Event("telephony.state", {"server": "main", "version": 7})] * 2
    try:
        for ev in sent:  # without yielding: the sender finds them all queued
            bus_a.send(ev)
        got = [await asyncio.wait_for(qb.get(), 30) for _ in range(len(sent))]
        assert [(e.topic, e.data) for e in got] == [(e.topic, e.data) for e in sent]
        await asyncio.sleep(0.3)
        assert qb.qsize() == 0
        assert bus_a.stats()["sent"] == len(sent) and bus_a.stats()["dropped"] == 0
    finally:
        await bus_a.stop()
        await bus_b.stop()


@pg_only
async def test_events_cross_processes_once_and_side_effects_stay_where_they_happened(pg_url: str) -> None:
    a, b = EventHub(), EventHub()
    rec: list[int] = []
    bus_a, bus_b = await _bus(pg_url, a, rec), await _bus(pg_url, b, rec)
    seen: dict[str, list[str]] = {"a_plain": [], "b_plain": [], "b_everywhere": []}

    async def record(key: str, ev: Event) -> None:
        seen[key].append(ev.topic)

    a.subscribe("agent.", lambda ev: record("a_plain", ev))
    b.subscribe("agent.", lambda ev: record("b_plain", ev))
    b.subscribe("agent.", lambda ev: record("b_everywhere", ev), everywhere=True)
    qa, qb = a.queue(), b.queue()
    history = "、".join(f"第{i}次来电：反映小区供暖不热，已转办" for i in range(400))  # ~20 kB of UTF-8
    try:
        await a.publish(Event("agent.state", {"interface": "PJSIP/agent-1001", "paused": True}))
        await a.publish(Event("agent.screenpop", {"member": "李娜", "history": history}))
        await a.publish(Event("_closed"))  # local-only topic: never sent
        got = [await asyncio.wait_for(qb.get(), 30) for _ in range(2)]
        assert [e.topic for e in got] == ["agent.state", "agent.screenpop"]
        assert got[0].data == {"interface": "PJSIP/agent-1001", "paused": True}
        assert got[1].data["history"] == history and got[1].data["member"] == "李娜"
        # A's own page got each once (its own events are not echoed back from the bus)
        await b.publish(Event("agent.complete", {"interface": "x"}))
        mine = [qa.get_nowait() for _ in range(qa.qsize())]
        await wait_until(lambda: qa.qsize() >= 1, 30, "B's event at A")
        mine += [qa.get_nowait() for _ in range(qa.qsize())]
        assert [e.topic for e in mine] == ["agent.state", "agent.screenpop", "_closed", "agent.complete"]
        assert [qb.get_nowait().topic for _ in range(qb.qsize())] == ["agent.complete"]  # its own, once
        # side effects: A's plain handler saw A's events only; B's plain handler B's only
        assert seen["a_plain"] == ["agent.state", "agent.screenpop"]
        assert seen["b_plain"] == ["agent.complete"]
        assert seen["b_everywhere"] == ["agent.state", "agent.screenpop", "agent.complete"]
        assert bus_a.stats()["dropped"] == 0 and bus_b.stats()["received"] == 2
    finally:
        await bus_a.stop()
        await bus_b.stop()


@pg_only
async def test_a_lost_bus_reconnects_and_pages_are_told_to_resync(pg_url: str) -> None:
    a, b = EventHub(), EventHub()
    rec: list[int] = []
    bus_a, bus_b = await _bus(pg_url, a, rec), await _bus(pg_url, b, rec)
    page = b.queue()
    admin = await asyncpg.connect(dsn(pg_url))
    try:
        # what a PostgreSQL restart does to the listening session: the server ends it
        listen_pid = bus_b._listen.get_server_pid()  # noqa: SLF001
        await admin.execute("SELECT pg_terminate_backend($1)", listen_pid)
        told = [await asyncio.wait_for(page.get(), 30) for _ in range(2)]
        assert [e.topic for e in told] == ["bus.reconnected", "_closed"]
        assert told[1].data == {"reason": "resync"}  # the socket's pump ends: the page reconnects
        assert rec == [1] and bus_b.stats()["reconnects"] == 1
        # and the bus works again afterwards
        page2 = b.queue()
        await a.publish(Event("queue.caller_join", {"queue": "q-kunming"}))
        ev = await asyncio.wait_for(page2.get(), 30)
        assert ev.topic == "queue.caller_join"
    finally:
        await admin.close()
        await bus_a.stop()
        await bus_b.stop()


@pg_only
async def test_a_logout_in_one_worker_ends_the_cached_session_in_the_others(tmp_path: Path, pg_url: str) -> None:
    """Workers cache a checked session for reads (app/auth/cache.py): the logout, password change or
    disabling served by one worker reaches the others' caches over the bus, not after the TTL."""
    from app.auth.events import sessions_ended
    from app.auth.models import User
    from app.runtime import Runtime
    from tests.conftest import make_settings

    workers = [
        Runtime.build(make_settings(tmp_path / f"w{i}", pg_url, session_cache_ttl_s=3600)) for i in (1, 2)
    ]
    rec: list[int] = []
    buses = [await _bus(pg_url, rt.hub, rec) for rt in workers]
    user = User(id=7, username="li.dali", session_version=3)
    try:
        for rt in workers:
            rt.sessions.put(user)
            assert rt.sessions.get(7, 3) is user
        await workers[0].hub.publish(sessions_ended(user))
        await wait_until(
            lambda: workers[1].sessions.get(7, 3) is None, 30, "the other worker to drop the session"
        )
        assert workers[0].sessions.get(7, 3) is None
    finally:
        for bus in buses:
            await bus.stop()
        for rt in workers:
            await rt.db.engine.dispose()


@pg_only
async def test_a_holiday_file_uploaded_to_one_worker_reaches_the_fastagi_process(tmp_path: Path, pg_url: str) -> None:
    """An administrator uploads next year's holidays through one HTTP worker; the FastAGI process, which
    routes the calls (open hours, holidays) and listens to the bus's control channel only, uses them at
    once. The pages' events published meanwhile never reach it."""
    from datetime import date

    from app.bus import CONTROL_CHANNEL, message_bus
    from app.runtime import Runtime
    from tests.conftest import add_user, login, make_settings, running_app
    from tests.integration.test_calendar_admin import FILE_2099

    holidays = tmp_path / "holidays"
    agi = Runtime.build(make_settings(tmp_path / "agi", pg_url, holiday_dir=holidays))
    spring_festival_monday = date(2099, 2, 9)
    try:
        async with message_bus(agi, listen=(CONTROL_CHANNEL,)):
            web_settings = make_settings(tmp_path / "web", pg_url, holiday_dir=holidays)
            async with running_app(web_settings) as (app, client):
                assert 2099 not in agi.config.calendar.covered_years()
                await add_user(app, "root.admin", "admin")
                h = await login(client, "root.admin")
                await app.state.runtime.hub.publish(Event("agent.state", {"interface": "PJSIP/agent-1001"}))
                r = await client.post(
                    "/api/admin/calendar", content=FILE_2099, headers=h | {"Content-Type": "application/yaml"}
                )
                assert r.status_code == 200, r.text
                assert app.state.runtime.config.calendar.is_workday(spring_festival_monday) is False
                await wait_until(
                    lambda: 2099 in agi.config.calendar.covered_years(),
                    30,
                    "the FastAGI process to route with the uploaded holidays",
                )
                assert agi.config.calendar.is_workday(spring_festival_monday) is False
                assert agi.config.calendar.is_workday(date(2099, 2, 15)) is True  # the swapped Sunday
                assert agi.hub.bus_stats is not None
                assert agi.hub.bus_stats()["received"] == 1, agi.hub.bus_stats()  # the notice, nothing else
    finally:
        await agi.db.dispose()


@pg_only
async def test_a_holiday_file_loaded_from_the_command_line_reaches_the_running_processes(
    tmp_path: Path, pg_url: str
) -> None:
    """`hotline calendar load FILE` on a PostgreSQL deployment saves the file and tells the running
    service over the bus: the FastAGI process routes with it at once, no restart."""
    from app.bus import CONTROL_CHANNEL, message_bus
    from app.runtime import Runtime
    from tests.conftest import make_settings
    from tests.integration.test_calendar_admin import FILE_2099

    holidays = tmp_path / "holidays"
    agi = Runtime.build(make_settings(tmp_path / "agi", pg_url, holiday_dir=holidays))
    f = tmp_path / "2099.yaml"
    f.write_text(FILE_2099, encoding="utf-8")
    env = {**_env(tmp_path, pg_url), "HOTLINE_HOLIDAY_DIR": str(holidays)}
    try:
        async with message_bus(agi, listen=(CONTROL_CHANNEL,)):
            assert 2099 not in agi.config.calendar.covered_years()
            out = await asyncio.to_thread(
                subprocess.run, [sys.executable, "-m", "app.cli", "calendar", "load", str(f)],
                cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            assert out.returncode == 0, out.stderr
            assert "every process reloads the calendar now" in out.stdout, out.stdout
            await wait_until(lambda: 2099 in agi.config.calendar.covered_years(), 30, "the reload in the FastAGI process")
    finally:
        await agi.db.dispose()
