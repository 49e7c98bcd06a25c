"""Issue 14, defects 7 and 8 replayed: forged FastAGI requests (from a local user without the key, with
a wrong key, or from an address that is not a configured Asterisk) route nothing and create no call
or voicemail rows; the refusal is logged without the key; /health's FastAGI counters are real."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import func, select

from app.calls.models import Call
from app.settings import AsteriskServer
from tests.conftest import free_port, make_settings, running_app

KEY = "agi-key-" + "f" * 24


async def fake_asterisk(port: int, route: str, args: list[str], uniqueid: str) -> list[str]:
    """Speaks FastAGI as Asterisk does: headers, then answers 200 to every command. Returns the commands."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = ["agi_network: yes", f"agi_network_script: {route}", f"agi_request: agi://127.0.0.1/{route}",
            "agi_channel: PJSIP/trunk-00000001", "agi_language: zh", f"agi_uniqueid: {uniqueid}",
            "agi_callerid: 13987212345", "agi_calleridname: 张三", "agi_dnid: 12345"]
    head += [f"agi_arg_{i}: {a}" for i, a in enumerate(args, 1)]
    writer.write(("\n".join(head) + "\n\n").encode())
    await writer.drain()
    commands = []
    while True:
        line = await asyncio.wait_for(reader.readline(), 5)
        if not line:
            break
        commands.append(line.decode().strip())
        writer.write(b"200 result=1\n")
        await writer.drain()
    writer.close()
    return commands


async def calls_count(app) -> int:  # type: ignore[no-untyped-def]
    async with app.state.runtime.db.sessionmaker() as s:
        return int(await s.scalar(select(func.count()).select_from(Call)) or 0)


async def test_forged_fastagi_is_refused_and_counted(tmp_path, sqlite_url, caplog):
    port = free_port()
    settings = make_settings(tmp_path, sqlite_url, agi_enabled=True, agi_port=port,
                             asterisk=[AsteriskServer(agi_secret=KEY)])
    caplog.set_level(logging.INFO)
    async with running_app(settings) as (app, client):
        # no key, a wrong key, a voicemail without key: nothing is asked of the "channel", nothing stored
        for route, args in (("incoming", ["", "main", "L1"]), ("incoming", ["", "main", "L1", "forged-key-77"]),
                            ("voicemail", ["vm-dali", "main", "nope"])):
            assert await fake_asterisk(port, route, args, "forged-1") == []
        # the real dialplan's request (key as the last argument) is routed
        commands = await fake_asterisk(port, "incoming", ["", "main", "L2", KEY], "real-1")
        assert commands and commands[0].startswith("EXEC MSet") and "HOTLINE_ROUTE=" in commands[0]
        for _ in range(100):
            if await calls_count(app) == 1:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        async with app.state.runtime.db.sessionmaker() as s:
            assert [c.uniqueid for c in await s.scalars(select(Call))] == ["real-1"]
            assert [c.linkedid for c in await s.scalars(select(Call))] == ["L2"]  # arguments unchanged
        from app.voicemail.models import Recording

        async with app.state.runtime.db.sessionmaker() as s:
            assert await s.scalar(select(func.count()).select_from(Recording)) == 0

        agi = (await client.get("/health")).json()["agi"]  # defect 8: counters are real
        assert agi["stats"]["refused"] == 3 and agi["stats"]["requests"] == 1 and agi["stats"]["ok"] == 1
        assert agi["routes"] == {"incoming": 1} and agi["authenticated"] is True
    refusals = [r.getMessage() for r in caplog.records if r.getMessage().startswith("FastAGI") and "refused" in r.getMessage()]
    assert len(refusals) == 3 and all("wrong key" in m for m in refusals), refusals
    leaks = [r.getMessage() for r in caplog.records if KEY in r.getMessage() or "forged-key-77" in r.getMessage()]
    assert leaks == []


async def test_fastagi_from_an_address_that_is_not_asterisk_is_refused(tmp_path, sqlite_url, caplog):
    port = free_port()
    settings = make_settings(tmp_path, sqlite_url, agi_enabled=True, agi_port=port,
                             asterisk=[AsteriskServer(ami_host="192.0.2.10", agi_secret=KEY)])
    caplog.set_level(logging.INFO)
    async with running_app(settings) as (app, client):
        assert await fake_asterisk(port, "incoming", ["", "main", "L1", KEY], "from-here") == []
        await asyncio.sleep(0.2)
        assert await calls_count(app) == 0
        assert (await client.get("/health")).json()["agi"]["stats"]["refused"] == 1
    assert any("not a configured Asterisk" in r.getMessage() for r in caplog.records)


async def test_health_says_degraded_when_the_database_is_locked(tmp_path, sqlite_url):
    """Defect 8: with another process holding the SQLite write lock, /health answers "degraded" after
    its bounded wait (2 s) instead of hanging for the 30-s busy timeout; once released, "ok" again."""
    import sqlite3

    async with running_app(make_settings(tmp_path, sqlite_url)) as (app, client):
        assert (await client.get("/health")).json()["database"]["ok"] is True
        other = sqlite3.connect(
            sqlite_url.split("///", 1)[1], isolation_level=None, timeout=30, check_same_thread=False
        )
        # in a thread: the app's background loops (schedulers, sweeps, the outbox) write every few
        # seconds, each unit of work a few ms. Called on the event loop, this waited while the loop was
        # blocked, so a unit caught between two statements could never commit: "database is locked"
        # after 30 s (seen under load). With the loop running, it commits and the lock is ours.
        try:
            await asyncio.to_thread(other.execute, "BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            other.close()
            raise AssertionError(f"the running app held the SQLite write lock for more than 30 s: {e}") from e
        try:
            body = (await client.get("/health")).json()
            assert body["status"] == "degraded"
            assert body["database"]["ok"] is False and "locked" in body["database"]["error"]
            body = (await client.get("/health")).json()  # a second request waits on the same probe
            assert body["status"] == "degraded"
        finally:
            other.execute("ROLLBACK")
            other.close()
        for _ in range(50):
            if (await client.get("/health")).json()["database"]["ok"]:
                break
            await asyncio.sleep(0.1)
        assert (await client.get("/health")).json()["database"]["ok"] is True
