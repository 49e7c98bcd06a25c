"""Speech-to-text engines. ``make_engine`` builds the one named by settings.stt_engine (``auto``: the
configured or found model, see :mod:`recordings.stt.locate`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from recordings.stt.base import (
    AudioError,
    EngineUnavailable,
    Segment,
    SpeechEngine,
    Transcript,
    Word,
)

ENGINES = ("auto", "vosk", "whisper", "combo", "none")

__all__ = [
    "ENGINES", "AudioError", "DisabledEngine", "EngineUnavailable", "Segment", "SpeechEngine",
    "Transcript", "Word", "engine_from_settings", "make_engine",
]  # fmt: skip


class DisabledEngine:
    """No model: stt_engine="none", or "auto" with no model found (``reason`` says how to get one).
    Never loads a model; every transcript is empty with empty_reason "disabled"."""

    name = "none"

    def __init__(self, reason: str = "stt_engine = none") -> None:
        self.reason = reason

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
    models_dir: str | Path | None = None,
    shared_dir: str | Path | None = None,
    max_audio_s: float | None = None,
) -> SpeechEngine:
    """Build an engine (models load lazily on first use). EngineUnavailable says what to configure.

    ``auto`` resolves to the configured or found model (Vosk first), else a DisabledEngine whose
    ``reason`` says how to get a model. ``max_audio_s``: longer files are refused before decoding."""
    from recordings.stt.locate import choose_engine

    if name not in ENGINES:
        raise EngineUnavailable(f"unknown stt_engine {name!r}: choose one of {', '.join(ENGINES)}")
    choice = choose_engine(
        name, vosk_model_path=vosk_model_path, whisper_model_path=whisper_model_path,
        models_dir=models_dir, shared_dir=shared_dir,
    )  # fmt: skip
    engine: SpeechEngine
    if choice.name == "whisper":
        from recordings.stt.whisper_engine import WhisperEngine

        engine = WhisperEngine(choice.whisper_model_path or "", threads=threads)
    elif choice.name == "vosk":
        from recordings.stt.vosk_engine import VoskEngine

        engine = VoskEngine(choice.vosk_model_path or "")
    elif choice.name == "combo":
        from recordings.stt.combo import ComboEngine
        from recordings.stt.vosk_engine import VoskEngine
        from recordings.stt.whisper_engine import WhisperEngine

        v, w = (
            VoskEngine(choice.vosk_model_path or ""),
            WhisperEngine(choice.whisper_model_path or "", threads=threads),
        )
        engine = ComboEngine(v, w)
    else:
        return DisabledEngine(choice.reason)
    engine.max_audio_s = max_audio_s  # type: ignore[attr-defined]
    return engine


def engine_from_settings(settings: Any, name: str | None = None) -> SpeechEngine:
    """:func:`make_engine` from a settings object (duck-typed: recordings/ does not import app/)."""
    return make_engine(
        name or str(getattr(settings, "stt_engine", "auto")),
        whisper_model_path=getattr(settings, "whisper_model_path", None),
        vosk_model_path=getattr(settings, "vosk_model_path", None),
        threads=getattr(settings, "stt_threads", 2),
        models_dir=getattr(settings, "models_dir", None),
        shared_dir=getattr(settings, "shared_dir", None),
        max_audio_s=getattr(settings, "stt_max_audio_s", None),
    )
