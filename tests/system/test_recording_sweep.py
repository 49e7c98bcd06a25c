"""Recordings nobody checked (app/callrec/sweep.py) with a real Asterisk and real phones: calls answered
while no backend read the server's AMI events are recorded by Asterisk's MixMonitor; when the backend
is back, its sweep checks their files - attached when good, flagged (on the call, the failed list and
/health) when MixMonitor could not write. The CDR tells the backend those calls were answered.
SQLite only: the sweep's integration test (tests/integration/test_callrec_sweep.py) runs on both
databases."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import pytest

from app.settings import AsteriskServer
from app.simcall import place_call
from app.telephony.lifecycle import TELEPHONY
from recordings import calls as rc
from tests.conftest import add_user, login, running_app
from tests.system.audio_check import dominant_hz, loud_seconds, tone_wav
from tests.system.conftest import backend_settings
from tests.system.softphone import DALI_MOBILE, AmiWatch, Softphone, _free, desk, free_sip_port
from tests.waiting import wait_until

pytestmark = pytest.mark.system
TONE_HZ = 440


async def _info(c: httpx.AsyncClient, uid: str, headers: dict[str, str]) -> dict:  # type: ignore[type-arg]
    r = await c.get(f"/api/calls/{uid}/recording/info", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _with_cdr(asterisk) -> tuple[AsteriskServer, Path]:  # type: ignore[no-untyped-def]
    cdr = asterisk.base_dir / "log" / "cdr-csv" / "Master.csv"
    return AsteriskServer(**(asterisk.server.model_dump() | {"cdr_csv": str(cdr)})), cdr


def _imported_so_far(cdr: Path) -> None:
    """The earlier tests' calls count as imported already: only the calls placed after this come from
    the CDR (the reconciler's own offset file)."""
    Path(str(cdr) + ".imported-offset").write_text(str(cdr.stat().st_size if cdr.exists() else 0))


def _break(recdir: Path, away: Path) -> None:
    """MixMonitor cannot write: a file where its directory should be (root ignores permissions)."""
    recdir.rename(away)
    recdir.write_text("not a directory")


def _mend(recdir: Path, away: Path) -> None:
    if away.exists():
        recdir.unlink(missing_ok=True)
        away.rename(recdir)


async def test_calls_answered_while_no_backend_listened_are_checked_by_the_sweep(
    tmp_path, sqlite_url, asterisk
):
    """No backend at all (no FastAGI, no AMI consumer): Asterisk queues two callers on the default queue,
    where li's real phone answers both. MixMonitor records the first; for the second the recordings
    directory is unusable (a file where it should be), so MixMonitor cannot write. Nobody saw either
    AgentComplete. When the backend starts it imports both calls from the CDR and its sweep checks their
    files: the first attached and playable, the second flagged on the call, on the failed list and in
    /health."""
    recdir = Path(asterisk.server.recordings_dir or "")
    away = recdir.with_name(recdir.name + "-away")
    cdr = asterisk.base_dir / "log" / "cdr-csv" / "Master.csv"
    _imported_so_far(cdr)
    tone = tone_wav(tmp_path / "citizen.wav", TONE_HZ, 60)  # talks until hung up, whenever li answers
    phone = Softphone(tmp_path, "agent-1001", "softphone-pw-1001", asterisk.sip_port, local_port=free_sip_port(),
                      ctrl_port=_free(socket.SOCK_STREAM), answer_after=0.5)  # fmt: skip
    phone.start()
    calls = []
    try:
        await asyncio.to_thread(phone.wait_registered, asterisk.sandbox.cli)
        async with AmiWatch(asterisk) as ami:
            member = {"Queue": "q-province", "Interface": "PJSIP/agent-1001"}
            await ami.conn.action(
                {"Action": "QueueAdd", **member, "MemberName": "li.dali", "Paused": "false"}
            )
            try:
                for broken in (False, True):
                    if broken:  # the second: MixMonitor cannot write
                        _break(recdir, away)
                    call = await place_call(
                        asterisk.server, DALI_MOBILE, audio=str(tone.with_suffix("")), hangup=False, hold_s=60
                    )
                    assert (call.route, call.queue) == ("fallback", "q-province"), call.to_dict()
                    await ami.wait_for(
                        lambda e, uid=call.uniqueid: (
                            e.get("Event") == "AgentConnect" and e.get("Uniqueid") == uid
                        ),
                        60,
                    )
                    if not broken:  # li and the citizen talk: 4 s of the call recorded (8 kHz, 16 bit)
                        path = rc.path_for(recdir, call.uniqueid)
                        await wait_until(lambda p=path: rc.size_of(p) > 4 * 16000, 30, f"{path} recording")
                    await ami.conn.action({"Action": "Hangup", "Channel": call.channel})
                    await ami.wait_for(
                        lambda e, uid=call.uniqueid: e.get("Event") == "Hangup" and e.get("Uniqueid") == uid
                    )
                    calls.append(call)
            finally:
                _mend(recdir, away)
                await ami.conn.action({"Action": "QueueRemove", **member})
    finally:
        phone.stop()
    ok, lost = calls
    await wait_until(  # the CDR rows are written when the calls have ended
        lambda: cdr.exists() and all(c.uniqueid in cdr.read_text(errors="replace") for c in calls),
        30, "the CDR rows of both calls",
    )  # fmt: skip

    server, _ = _with_cdr(asterisk)
    settings = backend_settings(
        tmp_path, sqlite_url, asterisk, asterisk=[server],
        call_recording_sweep_interval_s=0.2, call_recording_sweep_grace_s=0,
    )  # fmt: skip
    async with running_app(settings) as (app, c):
        await add_user(app, "wang.prov", "supervisor", platform="province")
        sup = await login(c, "wang.prov")
        got = await wait_until(
            lambda: _info(c, lost.uniqueid, sup), 40, "the sweep to check the lost recording",
            check=lambda i: i["recording_status"] is not None,
        )  # fmt: skip
        assert (got["recording_status"], got["recording_detail"]) == ("failed", "没有录音文件"), got
        info = await _info(c, ok.uniqueid, sup)
        assert info["recording_status"] == "ok" and info["recording_s"] >= 4, info
        r = await c.get(f"/api/calls/{ok.uniqueid}/recording", headers=sup)
        assert r.status_code == 200, r.text[:200]
        wav = tmp_path / "swept.wav"
        wav.write_bytes(r.content)
        assert abs(dominant_hz(wav) - TONE_HZ) < 15 and loud_seconds(wav) >= 3, (
            dominant_hz(wav),
            loud_seconds(wav),
        )
        failed = (await c.get("/api/recordings?status=failed", headers=sup)).json()
        assert [f["uniqueid"] for f in failed] == [lost.uniqueid], failed
        health = (await c.get("/health")).json()
        assert health["call_recordings"]["failed_24h"] == 1, health["call_recordings"]
        assert any("录音失败" in w for w in health["warnings"]), health["warnings"]


async def test_a_call_answered_while_the_backends_ami_was_stopped_is_flagged(tmp_path, sqlite_url, asterisk):
    """The backend runs (FastAGI routes the call to q-dali, where li signed in), but its AMI session is
    stopped before the call and started again after it: no event of the call reached it, and the
    resync closes the row as never answered. MixMonitor could not write (its directory unusable). The
    CDR, read at the new login, says li's phone answered: the row is corrected and the sweep flags the
    missing recording on the call, the failed list and /health."""
    server, cdr = _with_cdr(asterisk)
    recdir = Path(asterisk.server.recordings_dir or "")
    away = recdir.with_name(recdir.name + "-away")
    _imported_so_far(cdr)
    sweep = {"call_recording_sweep_interval_s": 0.2, "call_recording_sweep_grace_s": 0}
    async with (
        desk(tmp_path, sqlite_url, asterisk, answer_after=0.5, wrapup_s=0, asterisk=[server], **sweep) as (
            app, base, _phone,
        ),
        httpx.AsyncClient(base_url=base) as c,
        AmiWatch(asterisk) as ami,
    ):  # fmt: skip
        li = await login(c, "li.dali")
        assert (
            await c.post("/api/agents/me/login", json={"queues": ["q-dali"]}, headers=li)
        ).status_code == 200
        await wait_until(
            lambda: asyncio.to_thread(asterisk.sandbox.cli, "queue show q-dali"), 30, "li.dali in q-dali",
            check=lambda s: "li.dali" in s and "paused" not in s,
        )  # fmt: skip
        conn = app.state.runtime.require(TELEPHONY).connections["main"]
        await conn.close()  # the backend's AMI session stops
        try:
            _break(recdir, away)
            call = await place_call(asterisk.server, DALI_MOBILE, hangup=False, hold_s=60)
            assert (call.route, call.queue) == ("queue", "q-dali"), call.to_dict()  # FastAGI still routes
            await ami.wait_for(
                lambda e: e.get("Event") == "AgentConnect" and e.get("Uniqueid") == call.uniqueid, 60
            )
            await ami.conn.action({"Action": "Hangup", "Channel": call.channel})
            await ami.wait_for(lambda e: e.get("Event") == "Hangup" and e.get("Uniqueid") == call.uniqueid)
        finally:
            _mend(recdir, away)
            await conn.start()  # and starts again: the resync, the CDR import
        assert await conn.wait_connected(10)
        sup = await login(c, "zhao.dali")
        got = await wait_until(
            lambda: _info(c, call.uniqueid, sup), 40, "the sweep to check the missed call's recording",
            check=lambda i: i["recording_status"] is not None,
        )  # fmt: skip
        assert (got["recording_status"], got["recording_detail"]) == ("failed", "没有录音文件"), got
        row = (await c.get(f"/api/calls/{call.uniqueid}", headers=sup)).json()
        assert row["outcome"] == "completed" and row["answered_at"] is not None, row
        failed = (await c.get("/api/recordings?status=failed", headers=sup)).json()
        assert [f["uniqueid"] for f in failed] == [call.uniqueid], failed
        health = (await c.get("/health")).json()
        assert health["call_recordings"]["failed_24h"] == 1, health["call_recordings"]
