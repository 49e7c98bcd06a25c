"""What every offline speech engine shares: a model loaded once (lazily, thread-safely), the audio
read and checked before any model work, the silence rule (no model call, no invented text), and the
Transcript with processing time that excludes the one-off model load."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from pydub import AudioSegment

from recordings import audio
from recordings.stt.base import EngineUnavailable, Segment, Transcript


class LazyModelEngine:
    name = ""
    label = ""  # for messages: "Vosk", "Whisper"
    language = "zh"
    model = ""
    min_speech_ms = 0
    #: Longer audio is refused (AudioError) from the header, before decoding: memory stays bounded.
    max_audio_s: float | None = None

    def __init__(self, model_path: Path) -> None:
        self.model_path = model_path
        self._model: Any = None
        self._load_lock = threading.Lock()
        self.load_seconds: float | None = None

    def _load_model(self) -> Any:
        raise NotImplementedError

    def _decode(self, model: Any, seg: AudioSegment, path: str | Path) -> tuple[str, list[Segment]]:
        """(cleaned text, segments) of one file; an empty text means the model heard no speech."""
        raise NotImplementedError

    def load(self) -> Any:
        """Load the model once (thread-safe); later calls return the same instance."""
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    t0 = time.perf_counter()
                    try:
                        self._model = self._load_model()
                    except EngineUnavailable:
                        raise
                    except Exception as exc:
                        raise EngineUnavailable(
                            f"cannot load {self.label} model from {self.model_path}: {exc}"
                        ) from exc
                    self.load_seconds = time.perf_counter() - t0
        return self._model

    def transcribe(self, path: str | Path) -> Transcript:
        t0 = time.perf_counter()
        seg = audio.load(path, self.max_audio_s)  # AudioError for corrupt / empty / non-audio files
        rate, duration = seg.frame_rate, seg.frame_count() / seg.frame_rate
        load_spent = 0.0

        def result(text: str, segments: list[Segment], empty: str | None) -> Transcript:
            return Transcript(
                text=text, segments=segments, language=self.language, engine=self.name, model=self.model,
                audio_seconds=round(duration, 3), sample_rate=rate, empty_reason=empty,
                process_seconds=round(time.perf_counter() - t0 - load_spent, 3),
            )  # fmt: skip

        if audio.speech_ms_of(seg) < self.min_speech_ms:
            return result("", [], "silence")
        t_load = time.perf_counter()
        model = self.load()  # first call only: not counted as processing time
        load_spent = time.perf_counter() - t_load
        text, segments = self._decode(model, seg, path)
        return result(text, segments, None if text else "no_speech")
