"""Real calls through the real sandbox Asterisk: 属地接听 by caller region, province for the rest,
the default queue when FastAGI is down, voicemail when the platform is closed."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

from app.simcall import place_call
from app.telephony.lifecycle import TELEPHONY
from tests.conftest import add_user, login, running_app
from tests.system.conftest import add_sim_members, backend_settings, write_config
from tests.waiting import WaitTimeout, wait_until

PREFECTURE_QUEUES = ["q-kunming", "q-dali", "q-xishuangbanna", "q-province"]

CASES = [
    # caller, trunk, expected platform, expected queue
    ("13987112345", None, "kunming", "q-kunming"),  # Kunming mobile
    ("087161234567", None, "kunming", "q-kunming"),  # Kunming landline with area code
    ("13987212345", None, "dali", "q-dali"),  # Dali mobile
    ("08722123456", None, "dali", "q-dali"),  # Dali landline
    ("2123456", "trunk-dali", "dali", "q-dali"),  # Dali landline dialled without area code
    ("13988112345", None, "xishuangbanna", "q-xishuangbanna"),  # Xishuangbanna mobile
    ("06912123456", None, "xishuangbanna", "q-xishuangbanna"),  # Xishuangbanna landline
    ("13810012345", None, "province", "q-province"),  # Beijing mobile
    ("", None, "province", "q-province"),  # anonymous
    ("abc#12", None, "province", "q-province"),  # garbled caller id
]


async def _reason(app, uniqueid: str) -> str | None:
    """The backend's decision reason for a call (for failure messages), once its row exists."""
    from app.calls import service

    async def reason() -> str | None:
        async with app.state.runtime.db.sessionmaker() as s:
            call = await service.get_call(s, uniqueid)
        return call.reason if call else None

    try:
        return await wait_until(reason, 5, f"the call row of {uniqueid}")
    except WaitTimeout:
        return None


async def _wait_call(app, uniqueid: str, queued: bool = False, **expect) -> dict:
    """The call row as the backend shows it, once it matches what we expect (AMI is asynchronous)."""
    from app.calls import service

    keys = (
        "route",
        "platform",
        "prefecture",
        "queue",
        "outcome",
        "caller",
        "agi_ms",
        "ended_at",
        "queued_at",
    )

    async def row() -> dict | None:
        async with app.state.runtime.db.sessionmaker() as s:
            call = await service.get_call(s, uniqueid)
        return {k: getattr(call, k) for k in keys} if call is not None else None

    def matches(r: dict | None) -> bool:
        return (
            r is not None
            and all(r.get(k) == v for k, v in expect.items())
            and bool(r["queued_at"] or not queued)
        )

    return await wait_until(
        row, 30, f"call {uniqueid} to show {expect}" + (" and queued" if queued else ""), check=matches
    )


async def test_calls_reach_the_callers_prefecture_queue(tmp_path, db_url, asterisk):
    settings = backend_settings(tmp_path, db_url, asterisk, platform_config=write_config(tmp_path))
    async with running_app(settings) as (app, client):
        members = await add_sim_members(app, PREFECTURE_QUEUES)
        conn = app.state.runtime.require(TELEPHONY).connection_for(None)
        try:
            results = await asyncio.gather(
                *[
                    place_call(asterisk.server, caller, trunk=trunk, conn=conn, timeout=20)
                    for caller, trunk, _, _ in CASES
                ]
            )
        finally:
            await members.remove()
        tel = app.state.runtime.require(TELEPHONY)
        for (caller, _trunk, platform, queue), res in zip(CASES, results, strict=True):
            assert res.error is None, (caller, res.error)
            if (res.platform, res.queue, res.route) != (platform, queue, "queue"):
                why = (caller, res.to_dict(), tel.state.snapshot({queue}), await _reason(app, res.uniqueid))
                raise AssertionError(f"expected {(platform, queue, 'queue')}: {why}")
            assert res.agi_ms is not None and res.agi_ms < 1000
        # the backend shows every call with the region Asterisk routed it by
        await add_user(app, "prov.sup", "supervisor")
        h = await login(client, "prov.sup")
        for (caller, _, platform, queue), res in zip(CASES, results, strict=True):
            await _wait_call(app, res.uniqueid, queued=True, platform=platform, queue=queue, route="queue")
            r = await client.get(f"/api/calls/{res.uniqueid}", headers=h)
            assert r.status_code == 200
            body = r.json()
            assert body["caller"] == caller and body["platform"] == platform and body["queue"] == queue
            assert body["arrived_at"] and body["queued_at"]


async def test_empty_prefecture_queue_overflows_to_province(tmp_path, db_url, asterisk):
    """多援一: no agent logged in to q-dali → the provincial pool answers, not voicemail."""
    settings = backend_settings(tmp_path, db_url, asterisk, platform_config=write_config(tmp_path))
    async with running_app(settings) as (app, _client):
        members = await add_sim_members(app, ["q-province"])
        try:
            conn = app.state.runtime.require(TELEPHONY).connection_for(None)
            res = await place_call(asterisk.server, "13987212345", conn=conn)
        finally:
            await members.remove()
        assert (res.platform, res.queue) == ("dali", "q-province"), res.to_dict()


async def test_fastagi_down_call_still_reaches_default_queue_and_is_recorded(tmp_path, db_url, asterisk):
    # backend with its AMI consumer up but its FastAGI server stopped
    settings = backend_settings(
        tmp_path, db_url, asterisk, agi_enabled=False, platform_config=write_config(tmp_path)
    )
    async with running_app(settings) as (app, client):
        conn = app.state.runtime.require(TELEPHONY).connection_for(None)
        res = await place_call(asterisk.server, "13987112345", conn=conn)
        assert res.error is None
        assert (res.route, res.queue) == ("fallback", "q-province"), res.to_dict()
        row = await _wait_call(app, res.uniqueid, route="fallback", queue="q-province")
        assert row["caller"] == "13987112345"


async def test_closed_platform_sends_caller_to_voicemail(tmp_path, db_url, asterisk):
    cfg = write_config(tmp_path, closed=("dali",))
    settings = backend_settings(tmp_path, db_url, asterisk, platform_config=cfg)
    async with running_app(settings) as (app, _):
        conn = app.state.runtime.require(TELEPHONY).connection_for(None)
        res = await place_call(asterisk.server, "13987212345", conn=conn)
        assert (res.route, res.platform, res.mailbox) == ("voicemail", "dali", "vm-dali"), res.to_dict()
        await _wait_call(app, res.uniqueid, route="voicemail")


async def test_slow_database_does_not_hold_the_caller(tmp_path, sqlite_url, asterisk):
    """The AGI handler answers within its bound even while the database is locked."""
    import sqlite3

    settings = backend_settings(tmp_path, sqlite_url, asterisk, platform_config=write_config(tmp_path))
    async with running_app(settings) as (app, _):
        members = await add_sim_members(app, ["q-kunming"])
        conn = app.state.runtime.require(TELEPHONY).connection_for(None)
        lock = sqlite3.connect(
            sqlite_url.split("///", 1)[1], timeout=15, isolation_level=None, check_same_thread=False
        )
        await asyncio.to_thread(lock.execute, "BEGIN EXCLUSIVE")  # in a thread: the loop must keep running
        try:
            res = await place_call(asterisk.server, "13987112345", conn=conn)
        finally:
            lock.execute("ROLLBACK")
            lock.close()
            await members.remove()
        assert (res.route, res.queue) == ("queue", "q-kunming"), res.to_dict()
        assert res.agi_ms is not None and res.agi_ms < settings.agi_handler_timeout_s * 1000
        await _wait_call(app, res.uniqueid, queue="q-kunming")  # written once the lock is gone


@pytest.mark.parametrize("caller,expect_rc", [("13987112345", 0)])
async def test_hotline_call_cli_prints_what_asterisk_did(tmp_path, sqlite_url, asterisk, caller, expect_rc):
    settings = backend_settings(tmp_path, sqlite_url, asterisk, platform_config=write_config(tmp_path))
    async with running_app(settings) as (app, _):
        members = await add_sim_members(app, ["q-kunming"])
        env = {
            "HOTLINE_ASTERISK": json.dumps([asterisk.server.model_dump(mode="json")]),
            "HOTLINE_VAR_DIR": str(tmp_path / "v"),
            "PATH": "/usr/bin:/bin",
        }
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "app.cli",
                "call",
                "--from",
                caller,
                "--json",
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
            )
            out, err = await asyncio.wait_for(proc.communicate(), 60)
        finally:
            await members.remove()
        assert proc.returncode == expect_rc, err.decode()
        body = json.loads(out)
        assert body["caller"] == caller and body["prefecture"] == "kunming" and body["platform"] == "kunming"
        assert body["route"] == "queue" and body["queue"] == "q-kunming" and body["uniqueid"]
        assert isinstance(body["agi_ms"], float)


async def test_backend_down_call_is_reconciled_from_cdr_when_it_is_back(tmp_path, db_url, asterisk):
    """Backend entirely down (no FastAGI, no AMI consumer): Asterisk still queues the caller on the
    default queue and logs the call in its CDR; the backend imports it when it starts."""
    from app.settings import AsteriskServer
    from app.telephony.ami import AmiConnection

    conn = AmiConnection(asterisk.server, on_event=lambda s, e: None)
    await conn.start()
    assert await conn.wait_connected(5)
    try:
        res = await place_call(asterisk.server, "13987212345", conn=conn, hangup=True)
    finally:
        await conn.close()
    assert (res.route, res.queue) == ("fallback", "q-province"), res.to_dict()
    cdr = asterisk.base_dir / "log" / "cdr-csv" / "Master.csv"
    await wait_until(  # the CDR row is written when the call has ended
        lambda: cdr.exists() and res.uniqueid in cdr.read_text(errors="replace"),
        30,
        f"the CDR row of {res.uniqueid}",
    )
    server = AsteriskServer(**(asterisk.server.model_dump() | {"cdr_csv": str(cdr)}))
    settings = backend_settings(
        tmp_path, db_url, asterisk, asterisk=[server], platform_config=write_config(tmp_path)
    )
    async with running_app(settings) as (app, client):
        row = await _wait_call(app, res.uniqueid, route="fallback", queue="q-province")
        assert row["caller"] == "13987212345"
        assert row["outcome"] == "abandoned" and row["ended_at"] is not None
        await add_user(app, "prov.sup", "supervisor")
        r = await client.get(f"/api/calls/{res.uniqueid}", headers=await login(client, "prov.sup"))
        assert r.json()["reason"].startswith("reconciled from Asterisk CDR")
