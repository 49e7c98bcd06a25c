"""Live transcript of the caller's side during a call (agent assist): RTP in, Vosk streaming out.

Asterisk sends the caller's audio (ChanSpy on a UnicastRTP channel, docs/adr/2026-12-02-live-transcript.md)
as RTP with 8 kHz signed-linear payload (``slin``: 16-bit big-endian) to a UDP socket on 127.0.0.1.
:class:`LiveSession` owns that socket and one Vosk ``KaldiRecognizer``; the recogniser runs in its
own thread behind a bounded queue, so nothing here can slow the event loop or the call:

- audio arriving faster than the recogniser keeps up is dropped once the queue holds ``max_lag_s``
  of audio, and the session reports ``unavailable`` ("转写不可用") — the call goes on untouched;
- no audio for ``idle_s`` (spy gone, Asterisk down) also reports ``unavailable``, but the audio already
  received is still recognised and shown (a recogniser running behind loses none of it);
- every update goes to ``on_update(LiveUpdate)`` from the recogniser thread (the caller hops it onto
  its loop); text is Simplified, engine-normalised (clean_transcript).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from recordings.textnorm import clean_transcript

log = logging.getLogger(__name__)
RATE = 8000
UNAVAILABLE = "转写不可用"


def rtp_payload(packet: bytes) -> bytes | None:
    """The payload of an RTP packet (version 2), header, CSRCs, extension and padding removed."""
    if len(packet) < 12 or packet[0] >> 6 != 2:
        return None
    cc, has_ext, has_pad = packet[0] & 0x0F, packet[0] & 0x10, packet[0] & 0x20
    off = 12 + 4 * cc
    if has_ext:
        if len(packet) < off + 4:
            return None
        off += 4 + 4 * int.from_bytes(packet[off + 2 : off + 4], "big")
    end = len(packet) - (packet[-1] if has_pad and packet else 0)
    return packet[off:end] if off <= end else None


def slin_be_to_le(payload: bytes) -> bytes:
    """RTP L16/slin is big-endian; Vosk wants little-endian 16-bit PCM."""
    b = bytearray(payload[: len(payload) - len(payload) % 2])
    b[0::2], b[1::2] = b[1::2], b[0::2]
    return bytes(b)


@dataclass
class LiveUpdate:
    status: str  # "listening" | "unavailable" | "ended"
    text: str  # final sentences so far
    partial: str  # the sentence being spoken (may still change)
    reason: str = ""
    audio_s: float = 0.0  # audio received so far
    words: list[dict[str, Any]] = field(default_factory=list)  # partial words with times (bench)


class LiveSession:
    """One call's caller-side stream: UDP socket on 127.0.0.1, bounded queue, recogniser thread."""

    def __init__(
        self, model: Any, on_update: Callable[[LiveUpdate], None], *, max_lag_s: float = 3.0,
        idle_s: float = 10.0, host: str = "127.0.0.1", partial_every_s: float = 0.25, nice: int | None = None,
    ) -> None:  # fmt: skip
        self.model, self.on_update, self.nice = model, on_update, nice
        self.max_lag_s, self.idle_s, self.partial_every_s = max_lag_s, idle_s, partial_every_s
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.settimeout(0.2)
        self.port: int = self.sock.getsockname()[1]
        # one item is one RTP payload (20 ms); max_lag_s of audio at most
        self._q: queue.Queue[bytes | None] = queue.Queue(maxsize=max(1, int(max_lag_s / 0.02)))
        self._stop = threading.Event()
        self.received_s = 0.0
        self.processed_s = 0.0  # audio the recogniser has taken (lag = received - processed)
        self.dropped_s = 0.0
        self.status = "listening"
        self.reason = ""
        # the recogniser itself gave up (behind by max_lag_s, or failed): audio still queued is dropped.
        # Audio that merely stopped coming (idle) is not a reason to drop what was already heard.
        self.gave_up = False
        self.final: list[str] = []
        self._rx = threading.Thread(target=self._receive, name=f"live-rx-{self.port}", daemon=True)
        self._asr = threading.Thread(target=self._recognise, name=f"live-asr-{self.port}", daemon=True)

    def start(self) -> LiveSession:
        self._rx.start()
        self._asr.start()
        return self

    def stop(self, join_s: float = 2.0) -> None:
        self._stop.set()
        try:
            self._q.put_nowait(None)
        except queue.Full:
            pass
        for t in (self._rx, self._asr):
            if t.is_alive() and t is not threading.current_thread():
                t.join(join_s)
        self.sock.close()

    def _fail(self, reason: str, give_up: bool = True) -> None:
        self.gave_up = self.gave_up or give_up
        if self.status != "unavailable":
            self.status, self.reason = "unavailable", reason
            log.warning("live transcript on port %s unavailable: %s", self.port, reason)
            self._emit("unavailable", "", reason)

    def _emit(
        self, status: str, partial: str, reason: str = "", words: list[dict[str, Any]] | None = None
    ) -> None:
        try:
            self.on_update(LiveUpdate(status, " ".join(self.final), partial, reason, round(self.received_s, 2),
                                      words or []))  # fmt: skip
        except Exception:  # noqa: BLE001 - a broken listener must not stop the recogniser
            log.exception("live transcript listener failed")

    def _receive(self) -> None:
        last = time.monotonic()
        while not self._stop.is_set():
            try:
                packet = self.sock.recv(4096)
            except TimeoutError:
                if time.monotonic() - last > self.idle_s:
                    self._fail(f"no audio from Asterisk for {self.idle_s:g} s", give_up=False)
                continue
            except OSError:
                return
            last = time.monotonic()
            payload = rtp_payload(packet)
            if not payload:
                continue
            secs = len(payload) / 2 / RATE
            self.received_s += secs
            if self.status == "unavailable":
                continue
            try:
                self._q.put_nowait(slin_be_to_le(payload))
            except queue.Full:  # the recogniser is behind by max_lag_s: give up, the call goes on
                self.dropped_s += secs
                self._fail(f"recogniser more than {self.max_lag_s:g} s behind")

    def _recognise(self) -> None:
        if (
            self.nice is not None
        ):  # soft real time: ahead of batch work on a busy machine (needs CAP_SYS_NICE)
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.nice)
            except OSError as e:
                log.info("live recogniser keeps the default priority: %s", e)
        try:
            from vosk import KaldiRecognizer

            rec = KaldiRecognizer(self.model, float(RATE))
            rec.SetWords(True)
            rec.SetPartialWords(True)
        except Exception as e:  # noqa: BLE001
            self._fail(f"recogniser did not start: {e}")
            return
        self._emit("listening", "")
        last_partial, last_sent = "", 0.0
        while True:
            chunk = self._q.get()
            if chunk is None:
                break
            more: list[bytes] = []  # whatever else is waiting (up to 0.5 s): fewer, larger decoder calls
            while len(more) < 25:
                try:
                    nxt = self._q.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._q.put_nowait(None)  # seen again next round: finish after this audio
                    break
                more.append(nxt)
            chunk = b"".join([chunk, *more])
            self.processed_s += len(chunk) / 2 / RATE
            if self.gave_up:
                continue
            shown = "unavailable" if self.status == "unavailable" else "listening"  # idle: still the words
            try:
                if rec.AcceptWaveform(chunk):
                    r = json.loads(rec.Result())
                    text = clean_transcript(r.get("text", ""))
                    if text:
                        self.final.append(text)
                    last_partial = ""
                    self._emit(shown, "", self.reason, words=r.get("result", []))
                    continue
                now = time.monotonic()
                if now - last_sent < self.partial_every_s:
                    continue
                r = json.loads(rec.PartialResult())
                partial = clean_transcript(r.get("partial", ""))
                if partial != last_partial:
                    last_partial, last_sent = partial, now
                    self._emit(shown, partial, self.reason, words=r.get("partial_result", []))
            except Exception as e:  # noqa: BLE001
                self._fail(f"recogniser failed: {e}")
        if self.gave_up:
            return
        try:
            text = clean_transcript(json.loads(rec.FinalResult()).get("text", ""))
            if text:
                self.final.append(text)
        except Exception:  # noqa: BLE001
            pass
        if self.status == "unavailable":  # the audio stopped coming: the words heard before it did
            if self.final:
                self._emit("unavailable", "", self.reason)
        else:
            self.status = "ended"
            self._emit("ended", "")
