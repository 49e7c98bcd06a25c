"""Speech-to-text engines. ``make_engine`` builds the one named by settings.stt_engine."""

from __future__ import annotations

import time
from pathlib import Path

from recordings.stt.base import (
    AudioError,
    EngineUnavailable,
    Segment,
    SpeechEngine,
    Transcript,
    Word,
)

ENGINES = ("whisper", "vosk", "none")

__all__ = [
    "ENGINES", "AudioError", "DisabledEngine", "EngineUnavailable", "Segment", "SpeechEngine",
    "Transcript", "Word", "make_engine",
]  # fmt: skip


class DisabledEngine:
    """stt_engine="none": never loads a model; every transcript is empty with empty_reason "disabled"."""

    name = "none"

    def transcribe(self, path: str | Path) -> Transcript:
        from recordings import audio

        t0 = time.perf_counter()
        info = audio.probe(path)
        return Transcript(
            text="", segments=[], language="", engine=self.name, model="", audio_seconds=info.duration_s,
            process_seconds=round(time.perf_counter() - t0, 3), sample_rate=info.sample_rate,
            empty_reason="disabled",
        )  # fmt: skip


def make_engine(
    name: str,
    *,
    whisper_model_path: str | Path | None = None,
    vosk_model_path: str | Path | None = None,
    threads: int = 2,
) -> SpeechEngine:
    """Build an engine (models load lazily on first use). EngineUnavailable says what to configure."""
    if name == "whisper":
        from recordings.stt.whisper_engine import WhisperEngine

        return WhisperEngine(whisper_model_path or "", threads=threads)
    if name == "vosk":
        from recordings.stt.vosk_engine import VoskEngine

        return VoskEngine(vosk_model_path or "")
    if name == "none":
        return DisabledEngine()
    raise EngineUnavailable(f"unknown stt_engine {name!r}: choose one of {', '.join(ENGINES)}")
