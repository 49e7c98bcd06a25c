"""The recording sweep: an answered call whose recording nobody checked (no AgentComplete reached a
backend: the backend was down, or its AMI session lost mid-call) is checked by the leader's sweep once
the grace has passed, and a missing or empty file is flagged exactly as after a normal call: on the
call, in the supervisors' list and in /health. Real rows, real files, the real loop; SQLite and
PostgreSQL."""

from __future__ import annotations

import math
import struct
import wave
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from app.callrec.models import CallRecording
from app.callrec.sweep import sweep_once
from app.calls.models import ABANDONED, COMPLETED, Call
from app.db import utcnow
from app.settings import AsteriskServer
from recordings import calls as rc
from tests.conftest import add_user, login, make_settings, running_app
from tests.waiting import wait_until

GRACE_S = 60


def _wav(path: Path, seconds: float) -> Path:
    rate = 8000
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
        for i in range(int(rate * seconds))
    )
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return path


def _call(uid: str, *, answered_min: float | None, ended_min: float | None, server: str = "main") -> Call:
    now = utcnow()
    return Call(
        uniqueid=uid, server=server, direction="in", caller="13987212345", platform="dali", queue="q-dali",
        agent="li.dali", route="fallback", arrived_at=now - timedelta(minutes=(answered_min or 5) + 1),
        answered_at=now - timedelta(minutes=answered_min) if answered_min is not None else None,
        ended_at=now - timedelta(minutes=ended_min) if ended_min is not None else None,
        outcome=COMPLETED if answered_min is not None else ABANDONED,
    )  # fmt: skip


async def test_the_sweep_checks_and_flags_recordings_nobody_checked(tmp_path, db_url):
    recdir = tmp_path / "callrec"
    recdir.mkdir()
    settings = make_settings(
        tmp_path, db_url,
        asterisk=[AsteriskServer(name="main", recordings_dir=recdir), AsteriskServer(name="other", ami_port=5039)],
        call_recording_sweep_interval_s=0.2, call_recording_sweep_grace_s=GRACE_S,
    )  # fmt: skip
    good = _wav(recdir / "sw-good.wav", 2.0)
    _wav(recdir / "sw-empty.wav", 0.0)  # MixMonitor opened the file and wrote nothing
    _wav(recdir / "sw-old.wav", 0.0)
    async with running_app(settings) as (app, c):
        rt = app.state.runtime
        await add_user(app, "zhao.dali", "supervisor", platform="dali")
        sup = await login(c, "zhao.dali")
        async with rt.db.sessionmaker() as s:
            s.add_all([
                _call("sw-missing", answered_min=10, ended_min=5),  # no file at all
                _call("sw-good", answered_min=10, ended_min=5),
                _call("sw-empty", answered_min=10, ended_min=5),
                _call("sw-recent", answered_min=3, ended_min=0.1),  # within the grace: the normal check's
                _call("sw-open", answered_min=10, ended_min=None),  # still talking
                _call("sw-old", answered_min=3 * 24 * 60, ended_min=3 * 24 * 60 - 5),  # before the window
                _call("sw-missed", answered_min=None, ended_min=5),  # never answered: nothing to record
                _call("sw-other", answered_min=10, ended_min=5, server="other"),  # no shared recordings dir
                checked := _call("sw-checked", answered_min=10, ended_min=5),
            ])  # fmt: skip
            await s.flush()
            s.add(CallRecording(call_id=checked.id, uniqueid="sw-checked", server="main",
                                path=str(recdir / "sw-checked.wav"), status=rc.OK, bytes=9000, seconds=1.0))  # fmt: skip
            await s.commit()

        async def info(uid: str) -> dict:  # type: ignore[type-arg]
            r = await c.get(f"/api/calls/{uid}/recording/info", headers=sup)
            assert r.status_code == 200, r.text
            return r.json()  # type: ignore[no-any-return]

        # the leader's loop finds them (nothing here calls the sweep)
        await wait_until(
            lambda: info("sw-empty"), 20, "the sweep to check sw-empty", check=lambda i: i["recording_status"]
        )
        missing, ok, empty = await info("sw-missing"), await info("sw-good"), await info("sw-empty")
        assert (missing["recording_status"], missing["recording_detail"]) == ("failed", "没有录音文件"), (
            missing
        )
        assert (empty["recording_status"], empty["recording_detail"]) == ("failed", "录音文件为空"), empty
        assert ok["recording_status"] == "ok" and ok["playable"] and ok["recording_s"] == 2.0, ok
        r = await c.get("/api/calls/sw-good/recording", headers=sup)
        assert r.status_code == 200 and r.content == good.read_bytes()
        for uid in ("sw-recent", "sw-open", "sw-old", "sw-missed", "sw-other"):
            assert (await info(uid))["recording_status"] is None, uid
        assert (await info("sw-checked"))["recording_status"] == "ok"  # left as the normal check left it

        failed = (await c.get("/api/recordings?status=failed", headers=sup)).json()
        assert {f["uniqueid"] for f in failed} == {"sw-missing", "sw-empty"}
        health = (await c.get("/health")).json()
        assert health["call_recordings"]["failed_24h"] == 2, health["call_recordings"]
        assert any("录音失败" in w for w in health["warnings"]), health["warnings"]

        # once is enough: a second pass finds nothing new and flags nothing twice
        assert await sweep_once(rt) == {"ok": 0, "failed": 0}
        async with rt.db.sessionmaker() as s:
            assert await s.scalar(select(func.count()).select_from(CallRecording)) == 4


def _cdr_line(uid: str, dst: str, disposition: str, start: str, end: str, billsec: int) -> str:
    return (f'"","13987212345","s","hotline-queue",""""" <13987212345>","Local/12345@hotline-inbound-0;2",'
            f'"{dst}","Queue","q-dali,rt,,,60","{start}","{start}","{end}",{billsec},{billsec},'
            f'"{disposition}","DOCUMENTATION","{uid}",""')  # fmt: skip


async def test_a_routed_call_whose_answer_ami_missed_is_corrected_from_the_cdr_and_swept(tmp_path, db_url):
    """The backend routed two calls, then lost AMI until both had ended: the resync closed both rows as
    not answered. Asterisk's CDR (the real cdr_csv layout) says a member answered the second only (the
    first rang a member who did not answer, then the caller gave up): the second becomes answered, and
    the sweep flags its missing recording; the first stays abandoned."""
    from app.calls.cdr import import_rows, parse

    recdir = tmp_path / "callrec"
    recdir.mkdir()
    settings = make_settings(
        tmp_path, db_url, asterisk=[AsteriskServer(name="main", recordings_dir=recdir)],
        call_recording_sweep_interval_s=0.2, call_recording_sweep_grace_s=GRACE_S,
    )  # fmt: skip
    t0 = utcnow() - timedelta(minutes=10)
    start, end = (
        (t0 + timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S"),
        (t0 + timedelta(minutes=4)).strftime("%Y-%m-%d %H:%M:%S"),
    )
    text = "\n".join([
        _cdr_line("cdr-gave-up", "Local/7000@hotline-sim-agent-0;1", "NO ANSWER", start, end, 30),
        _cdr_line("cdr-gave-up", "", "ANSWERED", start, end, 40),
        _cdr_line("cdr-answered", "Local/7000@hotline-sim-agent-0;1", "NO ANSWER", start, end, 5),
        _cdr_line("cdr-answered", "PJSIP/agent-1001-00000001", "ANSWERED", start, end, 239),
    ])  # fmt: skip
    async with running_app(settings) as (app, c):
        rt = app.state.runtime
        await add_user(app, "zhao.dali", "supervisor", platform="dali")
        sup = await login(c, "zhao.dali")
        async with rt.db.sessionmaker() as s:
            for uid in ("cdr-gave-up", "cdr-answered"):  # as the resync left them
                s.add(Call(uniqueid=uid, server="main", direction="in", caller="13987212345", platform="dali",
                           queue="q-dali", route="queue", arrived_at=t0, routed_at=t0, ended_at=t0 + timedelta(minutes=5),
                           outcome=ABANDONED, hangup_cause="ended while AMI was disconnected"))  # fmt: skip
            await s.commit()
        async with rt.db.sessionmaker() as s:
            assert await import_rows(s, parse(text), "main", {"q-dali": "dali"}) == 1
            await s.commit()

        async def info(uid: str) -> dict:  # type: ignore[type-arg]
            return (await c.get(f"/api/calls/{uid}/recording/info", headers=sup)).json()  # type: ignore[no-any-return]

        got = await wait_until(
            lambda: info("cdr-answered"), 20, "the sweep", check=lambda i: i["recording_status"]
        )
        assert (got["recording_status"], got["recording_detail"]) == ("failed", "没有录音文件"), got
        assert got["talk_s"] == 239 and got["answered_at"] is not None
        call = (await c.get("/api/calls/cdr-answered", headers=sup)).json()
        assert call["outcome"] == "completed", call
        gave_up = await info("cdr-gave-up")
        assert gave_up["answered_at"] is None and gave_up["recording_status"] is None, gave_up
        assert (await c.get("/api/calls/cdr-gave-up", headers=sup)).json()["outcome"] == "abandoned"


async def test_the_purge_deletes_expired_files_no_row_names(tmp_path, db_url):
    """Past the retention the purge deletes the recordings of rows (marked purged) and, by age, the
    files no row names (the province's own file of a leg transferred to it over the trunk); newer files
    and anything not a recording stay."""
    import os

    from app.callrec.component import purge_once

    recdir = tmp_path / "callrec"
    recdir.mkdir()
    settings = make_settings(tmp_path, db_url, asterisk=[AsteriskServer(name="main", recordings_dir=recdir)],
                             call_recording_retention_days=180, call_recording_purge_interval_s=0.2)  # fmt: skip
    old = (utcnow() - timedelta(days=200)).timestamp()
    named, orphan, fresh = (
        _wav(recdir / f"{n}.wav", 1.0) for n in ("old-named", "1796230000.17", "1796239999.3")
    )
    notes = recdir / "README.txt"
    notes.write_text("operator's notes")
    for path in (named, orphan, notes):
        os.utime(path, (old, old))
    async with running_app(settings) as (app, _c):
        rt = app.state.runtime
        async with rt.db.sessionmaker() as s:
            s.add(call := _call("old-named", answered_min=200 * 24 * 60, ended_min=200 * 24 * 60 - 5))
            await s.flush()
            s.add(CallRecording(call_id=call.id, uniqueid="old-named", server="main", path=str(named),
                                status=rc.OK, bytes=16044, seconds=1.0, created_at=utcnow() - timedelta(days=200)))  # fmt: skip
            await s.commit()

        async def statuses() -> list[str]:
            async with rt.db.sessionmaker() as s:
                return list((await s.scalars(select(CallRecording.status))).all())

        # the leader's loop does it (every 0.2 s here)
        await wait_until(statuses, 20, "the row purged", check=lambda st: st == [rc.PURGED])
        await wait_until(lambda: sorted(p.name for p in recdir.iterdir()), 20, "the expired files deleted",
                         check=lambda names: names == ["1796239999.3.wav", "README.txt"])  # fmt: skip
        assert await purge_once(rt) == 0  # nothing left to do
