"""Every answered agent call is recorded by Asterisk's MixMonitor (queues.conf monitor-type), the file
attached to the call, played to a supervisor of its platform and to the agent who took it and to no
one else, purged after the retention; a call whose recording is missing is flagged on the call, on
the supervisors' 录音 page and in /health."""

from __future__ import annotations

import asyncio
import io
import wave
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from app.callrec.component import purge_once
from app.callrec.models import CallRecording
from app.db import utcnow
from app.simcall import place_call
from recordings import calls as rc
from tests.browser import PW_TIMEOUT_MS, chromium, login_page, screenshot_path
from tests.conftest import add_user, login
from tests.system.audio_check import dominant_hz, loud_seconds, tone_wav
from tests.system.softphone import DALI_MOBILE, AmiWatch, desk
from tests.waiting import wait_until

pytestmark = pytest.mark.system
TONE_HZ, TONE_S = 440, 4
LEAD_S = 8  # the greeting, the queue and the agent's answer come first


async def _answered_call(app, base, asterisk, tmp_path):  # type: ignore[no-untyped-def]
    tone = tone_wav(tmp_path / "citizen.wav", TONE_HZ, TONE_S, lead_s=LEAD_S)
    async with httpx.AsyncClient(base_url=base) as c, AmiWatch(asterisk) as ami:
        li = await login(c, "li.dali")
        r = await c.post("/api/agents/me/login", json={"queues": ["q-dali"]}, headers=li)
        assert r.status_code == 200, r.text
        await wait_until(
            lambda: asyncio.to_thread(asterisk.sandbox.cli, "queue show q-dali"), 30, "li.dali in q-dali",
            check=lambda s: "li.dali" in s and "paused" not in s,
        )  # fmt: skip
        call = await place_call(
            asterisk.server, DALI_MOBILE, audio=str(tone.with_suffix("")), hangup=False, hold_s=1
        )
        assert call.queue == "q-dali", call
        done = await ami.wait_for_complete(call, timeout=60)
        assert int(done.get("TalkTime", "0")) >= TONE_S - 1, done
        return call


async def _info(c: httpx.AsyncClient, uid: str, headers: dict[str, str]) -> dict:  # type: ignore[type-arg]
    r = await c.get(f"/api/calls/{uid}/recording/info", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_an_answered_call_is_recorded_and_played_only_to_whom_it_may_concern(
    tmp_path, db_url, asterisk
):
    async with desk(tmp_path, db_url, asterisk, answer_after=0.5, wrapup_s=0) as (app, base, _phone):
        await add_user(app, "km.sup", "supervisor", platform="kunming")
        await add_user(app, "chen.dali", "agent", platform="dali", sip_endpoint="agent-1002")
        call = await _answered_call(app, base, asterisk, tmp_path)
        async with httpx.AsyncClient(base_url=base) as c:
            sup = await login(c, "zhao.dali")
            info = await wait_until(
                lambda: _info(c, call.uniqueid, sup), 30, "the recording checked",
                check=lambda i: i["recording_status"] is not None,
            )  # fmt: skip
            assert info["recording_status"] == "ok", info
            r = await c.get(f"/api/calls/{call.uniqueid}/recording", headers=sup)
            assert r.status_code == 200 and r.headers["content-type"] == "audio/wav", r.text[:200]
            wav = tmp_path / "got.wav"
            wav.write_bytes(r.content)
            with wave.open(io.BytesIO(r.content)) as w:
                seconds = w.getnframes() / w.getframerate()
            heard, hz = loud_seconds(wav), dominant_hz(wav)
            print(f"\nrecording: {len(r.content)} bytes, {seconds:.2f} s, {heard:.2f} s loud, {hz:.0f} Hz"
                  f" (the citizen played {TONE_S} s of {TONE_HZ} Hz)")  # fmt: skip
            assert info["recording_bytes"] == len(r.content) and abs(info["recording_s"] - seconds) < 0.05
            assert heard >= TONE_S - 1.5, heard  # the citizen's tone, not silence
            assert abs(hz - TONE_HZ) < 15, hz
            # the agent who took it, the province: yes; another prefecture, another agent, nobody: no
            for user, want in (("li.dali", 200), ("wang.prov", 200), ("km.sup", 404), ("chen.dali", 404)):
                h = await login(c, user)
                got = await c.get(f"/api/calls/{call.uniqueid}/recording", headers=h)
                assert got.status_code == want, (user, got.status_code)
            async with httpx.AsyncClient(base_url=base) as nobody:  # no session cookie
                assert (await nobody.get(f"/api/calls/{call.uniqueid}/recording")).status_code == 401
            mine = (await c.get("/api/recordings", headers=await login(c, "li.dali"))).json()
            assert [m["uniqueid"] for m in mine] == [call.uniqueid]
            assert (await c.get("/api/recordings", headers=await login(c, "chen.dali"))).json() == []
            assert (await c.get("/health")).json()["call_recordings"]["failed_24h"] == 0

        async with httpx.AsyncClient(base_url=base) as c:  # the agent files the call's case
            r = await c.post(
                "/api/cases", headers=await login(c, "li.dali"),
                json={"summary": "停水咨询", "detail": "市民来电", "call_uniqueid": call.uniqueid},
            )  # fmt: skip
            assert r.status_code == 201, r.text
            number = r.json()["case"]["number"]
        async with chromium() as browser:
            page = await login_page(browser, base, "zhao.dali")
            # the case reaches its recording through its call
            await page.goto(f"{base}/ui/case?n={number}")
            await page.wait_for_selector("#recording[data-status=ok] audio", timeout=PW_TIMEOUT_MS)
            await page.screenshot(path=str(screenshot_path("case-with-recording")), full_page=True)
            await page.goto(f"{base}/ui/recordings")
            row = f"#recs tr[data-uid='{call.uniqueid}']"
            await page.wait_for_selector(f"{row} .recstatus:text-is('已录音')", timeout=PW_TIMEOUT_MS)
            assert await page.locator(f"{row} audio").count() == 1
            await page.screenshot(path=str(screenshot_path("recordings-page")), full_page=True)
            # the agent hears their own call from the desktop's 我的通话
            mine = await login_page(browser, base, "li.dali")
            await mine.wait_for_selector(
                f"#mycalls tr[data-uid='{call.uniqueid}'] .rec audio", timeout=PW_TIMEOUT_MS
            )

        # past the retention: the leader's purge deletes the file and says so on the call
        rt = app.state.runtime
        async with rt.db.sessionmaker() as s:
            await s.execute(update(CallRecording).values(created_at=utcnow() - timedelta(days=181)))
            await s.commit()
            path = Path((await s.scalars(select(CallRecording.path))).one())
        assert rc.present(path)
        assert await purge_once(rt) == 1
        assert not rc.present(path)
        async with httpx.AsyncClient(base_url=base) as c:
            sup = await login(c, "zhao.dali")
            assert (await _info(c, call.uniqueid, sup))["recording_status"] == "purged"
            assert (await c.get(f"/api/calls/{call.uniqueid}/recording", headers=sup)).status_code == 404


async def test_a_missing_recording_is_flagged_never_silent(tmp_path, sqlite_url, asterisk):
    # the backend looks where no file is (as if Asterisk's disk were not the one shared with us)
    elsewhere = asterisk.server.model_copy(update={"recordings_dir": tmp_path / "not-shared"})
    async with desk(tmp_path, sqlite_url, asterisk, answer_after=0.5, wrapup_s=0, asterisk=[elsewhere]) as (
        app,
        base,
        _phone,
    ):
        call = await _answered_call(app, base, asterisk, tmp_path)
        async with httpx.AsyncClient(base_url=base) as c:
            sup = await login(c, "zhao.dali")
            info = await wait_until(
                lambda: _info(c, call.uniqueid, sup), 40, "the recording checked",
                check=lambda i: i["recording_status"] is not None,
            )  # fmt: skip
            assert info["recording_status"] == "failed" and info["recording_detail"] == "没有录音文件", info
            assert (await c.get(f"/api/calls/{call.uniqueid}/recording", headers=sup)).status_code == 404
            health = (await c.get("/health")).json()
            assert health["call_recordings"]["failed_24h"] == 1
            assert any("录音失败" in w for w in health["warnings"]), health["warnings"]
        async with chromium() as browser:
            page = await login_page(browser, base, "zhao.dali")
            await page.goto(f"{base}/ui/recordings")
            await page.wait_for_selector(
                f"#failed tr.recfail[data-uid='{call.uniqueid}']", timeout=PW_TIMEOUT_MS
            )
            assert await page.text_content("#nfailed") == "1"
            await page.screenshot(path=str(screenshot_path("recordings-page-failed")), full_page=True)
