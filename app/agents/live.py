"""Live transcript for the agent desktop (agent assist), decision record docs/adr/2026-12-02-live-transcript.md.

On ``agent.connect`` (the agent answered a queued call) a :class:`recordings.stt.live.LiveSession`
opens a UDP port on 127.0.0.1 and one AMI Originate asks Asterisk for a ``UnicastRTP`` channel to it
running ``ChanSpy(<caller channel>,qEo)``: the caller's side only, quiet, ending with the call. Updates
are published as ``agent.transcript`` events, which /ws/agent pushes to that agent's page.

Nothing here can affect the call: ChanSpy only reads the caller's audio; the Originate is async and
its failure only marks the transcript unavailable; the recogniser runs in its own thread behind a
bounded queue (see recordings/stt/live.py). Any failure shows "转写不可用" on the desktop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from app.events import Event
from app.health.router import EXTRA_CHECKS
from app.runtime import Key
from app.telephony.lifecycle import TELEPHONY
from recordings.stt.locate import FETCH_HINT

if TYPE_CHECKING:
    from app.runtime import Runtime
    from recordings.stt.live import LiveSession, LiveUpdate

log = logging.getLogger(__name__)
SPY_PREFIX = "hl-live-"


class LiveTranscripts:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.sessions: dict[str, LiveSession] = {}  # caller uniqueid -> session
        self.latest: dict[str, dict[str, Any]] = {}  # caller uniqueid -> last published transcript
        self._model: Any = None
        self.problem: str | None = None
        self._loop = asyncio.get_running_loop()
        self._tasks: set[asyncio.Task[Any]] = set()

    def _load_model(self) -> Any:
        """The Vosk model (shared by every call; recognisers are per call). Raises with the reason."""
        if self._model is None:
            from recordings.stt.locate import choose_from_settings
            from recordings.stt.vosk_engine import VoskEngine

            choice = choose_from_settings(self.rt.settings, "vosk")
            engine = VoskEngine(choice.vosk_model_path or "")
            self._model = engine.load()
        return self._model

    async def on_event(self, ev: Event) -> None:
        uid = str(ev.data.get("uniqueid") or "")
        if ev.topic == "agent.connect" and uid and ev.data.get("channel"):
            t = asyncio.create_task(self.start(ev.data))
            self._tasks.add(t)
            t.add_done_callback(self._tasks.discard)
        elif ev.topic in ("agent.complete", "call.ended") and uid in self.sessions:
            await asyncio.to_thread(self.sessions.pop(uid).stop)

    def _publish(self, data: dict[str, Any], update: LiveUpdate) -> None:
        """From the recogniser thread: hop onto the loop and publish."""
        msg = {
            "uniqueid": data.get("uniqueid"), "interface": data.get("interface"), "member": data.get("member"),
            "status": update.status, "label": "转写不可用" if update.status == "unavailable" else
            ("转写中" if update.status == "listening" else "转写结束"),
            "text": update.text, "partial": update.partial, "reason": update.reason, "audio_s": update.audio_s,
            "sent_at": time.time(),
        }  # fmt: skip
        self.latest[str(data.get("uniqueid"))] = msg
        self._loop.call_soon_threadsafe(lambda: self._spawn_publish(msg))

    def _spawn_publish(self, msg: dict[str, Any]) -> None:
        t = self._loop.create_task(self.rt.hub.publish(Event("agent.transcript", msg)))
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    async def start(self, data: dict[str, Any]) -> None:
        from recordings.stt.live import LiveSession, LiveUpdate

        uid = str(data["uniqueid"])
        s = self.rt.settings
        try:
            model = await asyncio.to_thread(self._load_model)
        except Exception as e:  # noqa: BLE001 - no model: the desktop says so, the call goes on
            self.problem = str(e)
            self._publish(data, LiveUpdate("unavailable", "", "", f"no Vosk model: {e}"))
            return
        session = LiveSession(
            model, lambda u: self._publish(data, u), max_lag_s=s.live_transcript_max_lag_s,
            idle_s=s.live_transcript_idle_s, nice=s.live_transcript_nice,
        ).start()  # fmt: skip
        self.sessions[uid] = session
        tel = self.rt.get(TELEPHONY)
        try:
            if tel is None:
                raise RuntimeError("no telephony component")
            await tel.action(
                {
                    "Action": "Originate", "Channel": f"UnicastRTP/127.0.0.1:{session.port}/c(slin)",
                    "Application": "ChanSpy", "Data": f"{data['channel']},qEo",
                    "ChannelId": f"{SPY_PREFIX}{uid}"[:60], "Timeout": "5000", "Async": "true",
                },
                platform=data.get("platform"), timeout=3,
            )  # fmt: skip
        except Exception as e:  # noqa: BLE001
            log.warning("live transcript of %s: cannot start the spy: %s", uid, e)
            session._fail(f"Asterisk did not start the audio feed: {e}")

    async def close(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for session in list(self.sessions.values()):  # a session may end (and leave) meanwhile
            await asyncio.to_thread(session.stop)
        self.sessions.clear()


async def health_check(rt: Runtime) -> tuple[bool, dict[str, Any]]:
    """/health: is there a Vosk model for the live transcript, how many calls are transcribed now."""
    from recordings.stt.locate import choose_from_settings, is_vosk_model

    if not rt.settings.live_transcript:
        return True, {"ok": True, "enabled": False}
    comp = rt.get(LIVE_TRANSCRIPT)
    path = choose_from_settings(rt.settings, "vosk").vosk_model_path
    problem = comp.problem if isinstance(comp, LiveTranscripts) else None
    if path is None or not is_vosk_model(path):
        problem = f"no Vosk model for the live transcript (agents will see 转写不可用): {FETCH_HINT}"
    detail: dict[str, Any] = {
        "ok": problem is None, "enabled": True, "model": str(path) if path else None,
        "active_calls": len(comp.sessions) if isinstance(comp, LiveTranscripts) else 0,
    }  # fmt: skip
    if problem:
        detail["reason"] = problem
    return problem is None, detail


EXTRA_CHECKS["live_transcript"] = health_check
LIVE_TRANSCRIPT: Key[LiveTranscripts] = Key("live_transcript")


@asynccontextmanager
async def live_transcripts(rt: Runtime) -> AsyncIterator[None]:
    if not rt.settings.live_transcript:
        yield
        return
    comp = LiveTranscripts(rt)
    rt.put(LIVE_TRANSCRIPT, comp)
    for prefix in ("agent.connect", "agent.complete", "call.ended"):
        rt.hub.subscribe(prefix, comp.on_event)
    try:
        yield
    finally:
        await comp.close()
        rt.drop(LIVE_TRANSCRIPT)
