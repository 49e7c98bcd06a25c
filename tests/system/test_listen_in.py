"""Listen, whisper, barge from the wallboard, with real phones: a Dali citizen (a simulated caller
playing a 440 Hz tone) talks to li.dali on baresip agent-1001; the Dali supervisor sun.dali, whose own
baresip phone is agent-1002 and whose microphone plays 1000 Hz, clicks 监听/密语/强插 on the wallboard.
Asterisk rings the supervisor's phone and ChanSpy joins it to the agent's channel. What each phone
RECEIVED is read from its decoded audio (baresip sndfile): the supervisor hears the citizen's tone;
in whisper the agent hears the supervisor; in barge the citizen does too (recorded on the simulated
citizen's own channel); in listen nobody hears the supervisor. Another prefecture's supervisor may not; an agent may not."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import pytest

from app.simcall import place_call
from tests.browser import PW_TIMEOUT_MS, chromium, login_page, screenshot_path
from tests.conftest import add_user, login
from tests.system.audio_check import dominant_hz, loud_seconds, tone_wav
from tests.system.softphone import DALI_MOBILE, AmiWatch, Softphone, _free, desk, free_sip_port
from tests.waiting import wait_until

pytestmark = pytest.mark.system
CITIZEN_HZ, SUPERVISOR_HZ = 440, 1000
LEAD_S, TONE_S = 12, 8  # the citizen's tone starts after the queue, the answer and the supervisor joining


def _freqs(path: Path, start_s: float = 0, end_s: float | None = None) -> set[int]:
    """The tones (of the two) clearly present in a WAV (between start_s and end_s), judged in 1 s
    windows by their spectrum."""
    import numpy as np

    from tests.system.audio_check import samples

    x, rate = samples(path)
    x = x[int(start_s * rate) : int(end_s * rate) if end_s else None]
    found: set[int] = set()
    for i in range(0, len(x) - rate, rate // 2):
        w = x[i : i + rate]
        if np.sqrt((w**2).mean()) < 0.02:
            continue
        spec = np.abs(np.fft.rfft(w * np.hanning(len(w))))
        freqs = np.fft.rfftfreq(len(w), 1 / rate)
        for hz in (CITIZEN_HZ, SUPERVISOR_HZ):
            band = spec[(freqs > hz - 20) & (freqs < hz + 20)].max()
            if band > 0.2 * spec.max():
                found.add(hz)
    return found


# every mode on SQLite; on PostgreSQL barge only, the mode that exercises the most (the supervisor
# heard by both sides): each variant costs ~26 s of the CI's 30-minute budget, and the database only
# carries the log-in, the scope check and the wallboard state, which are the same in every mode
@pytest.mark.parametrize(
    ("mode", "db_url"),
    [("listen", "sqlite"), ("whisper", "sqlite"), ("barge", "sqlite"), ("barge", "postgresql")],
    indirect=["db_url"],
)
async def test_supervisor_listens_whispers_and_barges_on_their_own_phone(tmp_path, db_url, asterisk, mode):
    citizen = tone_wav(tmp_path / "citizen.wav", CITIZEN_HZ, TONE_S, lead_s=LEAD_S)
    citizen_side = tmp_path / "citizen-side.wav"  # what the simulated citizen said and heard
    sup_mic = tone_wav(tmp_path / "supervisor-mic.wav", SUPERVISOR_HZ, 600)
    sup_phone = Softphone(
        tmp_path, "agent-1002", "softphone-pw-1002", asterisk.sip_port, local_port=free_sip_port(),
        ctrl_port=_free(socket.SOCK_STREAM), answer_after=0.0, mic=sup_mic, record_received=True,
    )  # fmt: skip
    async with desk(tmp_path, db_url, asterisk, answer_after=0.5, wrapup_s=0, record_received=True) as (
        app,
        base,
        agent_phone,
    ):
        sup_phone.start()
        try:
            await asyncio.to_thread(sup_phone.wait_registered, asterisk.sandbox.cli)
            await add_user(
                app,
                "sun.dali",
                "supervisor",
                platform="dali",
                sip_endpoint="agent-1002",
                display_name="孙班长",
            )
            await add_user(app, "km.sup", "supervisor", platform="kunming", sip_endpoint="agent-1002")
            async with (
                httpx.AsyncClient(base_url=base) as c,
                AmiWatch(asterisk) as ami,
                chromium() as browser,
            ):
                li = await login(c, "li.dali")
                assert (
                    await c.post("/api/agents/me/login", json={"queues": ["q-dali"]}, headers=li)
                ).status_code == 200
                sup = await login_page(browser, base, "sun.dali")
                await sup.goto(f"{base}/ui/wallboard")
                row = "tr[data-agent='li.dali']"
                await sup.wait_for_selector(f"{row} .state[data-state=available]", timeout=PW_TIMEOUT_MS)

                call = await place_call(
                    asterisk.server, DALI_MOBILE, audio=str(citizen.with_suffix("")), hangup=False, hold_s=1,
                    record=str(citizen_side),
                )  # fmt: skip
                assert call.queue == "q-dali", call
                await ami.wait_for(
                    lambda e: e.get("Event") == "AgentConnect" and e.get("Uniqueid") == call.uniqueid
                )
                # neither another prefecture's supervisor nor the agent may listen
                km = await login(c, "km.sup")
                assert (
                    await c.post("/api/agents/li.dali/spy", json={"mode": mode}, headers=km)
                ).status_code == 404
                assert (
                    await c.post("/api/agents/li.dali/spy", json={"mode": mode}, headers=li)
                ).status_code == 403

                button = {"listen": "监听", "whisper": "密语", "barge": "强插"}[mode]
                await sup.click(f"{row} button.sup-spy[data-mode={mode}]", timeout=PW_TIMEOUT_MS)
                await sup.wait_for_selector(f"#spymsg:has-text('{button}')", timeout=PW_TIMEOUT_MS)
                spied = await ami.wait_for(
                    lambda e: e.get("UserEvent") == "HotlineSpy" and "agent-1002" in e.get("Channel", ""),
                    timeout=30,
                )
                assert spied["Target"] == "PJSIP/agent-1001-", spied
                await sup.screenshot(path=str(screenshot_path(f"wallboard-{mode}")), full_page=True)
                await ami.wait_for_complete(call, timeout=LEAD_S + TONE_S + 30)
                # the citizen hung up: ChanSpy leaves (E), both phones' calls close and their files with them
                await wait_until(lambda: sup_phone.closed_calls() >= 1, 20, "the supervisor's call closed")
                await wait_until(lambda: agent_phone.closed_calls() >= 1, 20, "the agent's call closed")

        finally:
            sup_phone.stop()
        heard = sup_phone.received()
        assert len(heard) == 1, heard
        sup_loud, sup_freqs = loud_seconds(heard[0]), _freqs(heard[0])
        agent_freqs = _freqs(agent_phone.received()[-1])
        print(f"\n{mode}: supervisor's phone received {sup_loud:.1f} s of audio, tones {sorted(sup_freqs)} Hz "
              f"(dominant {dominant_hz(heard[0]):.0f}); agent's phone received tones {sorted(agent_freqs)} Hz")  # fmt: skip
        assert sup_loud >= 3, f"the supervisor heard {sup_loud:.1f} s of audio"
        assert CITIZEN_HZ in sup_freqs, sup_freqs  # the citizen's words reach the supervisor
        assert CITIZEN_HZ in agent_freqs, agent_freqs
        if mode == "listen":
            assert SUPERVISOR_HZ not in agent_freqs, "in listen mode the agent heard the supervisor"
        else:
            assert SUPERVISOR_HZ in agent_freqs, f"{mode}: the agent did not hear the supervisor"
        # the citizen's side of the call (MixMonitor on the simulated citizen's own channel)
        await wait_until(lambda: citizen_side.exists(), 10, "the citizen's side recorded")
        # (while the citizen's tone plays: before it, the citizen heard the greeting and the hold music)
        citizen_heard = _freqs(citizen_side, LEAD_S, LEAD_S + TONE_S)
        assert CITIZEN_HZ in citizen_heard, citizen_heard
        if mode == "barge":
            assert SUPERVISOR_HZ in citizen_heard, "barge: the citizen did not hear the supervisor"
        else:
            assert SUPERVISOR_HZ not in citizen_heard, f"{mode}: the citizen heard the supervisor"
