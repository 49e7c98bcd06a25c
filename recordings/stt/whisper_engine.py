"""Offline Mandarin transcription with faster-whisper (CTranslate2), CPU only.

Defaults were chosen on the zh-dev 8 kHz clips (see bench/results/stt-2026-11-26-whisper-tuning.md): beam 5, int8, no
initial prompt (every Simplified-Chinese prompt tried made the base model drop whole sentences),
8 kHz audio handed to faster-whisper as-is (its own resampler scored the same as sox ``rate -v``).
"""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

from pydub import AudioSegment

from recordings import audio
from recordings.stt.base import (
    DEFAULT_MIN_SPEECH_MS,
    EngineUnavailable,
    Segment,
    Word,
    model_label,
)
from recordings.stt.engine_base import LazyModelEngine
from recordings.textnorm import clean_transcript, to_simplified

REQUIRED_FILES = ("model.bin", "config.json")


def check_whisper_model_dir(model_path: str | Path | None) -> Path:
    if not model_path:
        raise EngineUnavailable(
            "Whisper model not configured: set whisper_model_path (env HOTLINE_WHISPER_MODEL_PATH) to a "
            "faster-whisper CTranslate2 model directory (model.bin, config.json, tokenizer.json)"
        )
    p = Path(model_path)
    missing = [f for f in REQUIRED_FILES if not (p / f).is_file()]
    if missing:
        raise EngineUnavailable(
            f"Whisper model directory {p} is missing {', '.join(missing)}: set whisper_model_path "
            "(env HOTLINE_WHISPER_MODEL_PATH) to a faster-whisper CTranslate2 model directory"
        )
    return p


class WhisperEngine(LazyModelEngine):
    name = "whisper"
    label = "Whisper"

    def __init__(
        self,
        model_path: str | Path,
        threads: int = 2,
        compute_type: str = "int8",
        beam_size: int = 5,
        *,
        language: str = "zh",
        initial_prompt: str | None = None,
        temperature: float | tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
        word_timestamps: bool = False,
        min_speech_ms: int = DEFAULT_MIN_SPEECH_MS,
        vad_filter: bool = True,
        target_dbfs: float | None = -20.0,
    ) -> None:
        super().__init__(check_whisper_model_dir(model_path))
        self.model = model_label(self.model_path)
        self.threads, self.compute_type, self.beam_size = threads, compute_type, beam_size
        self.language, self.initial_prompt, self.temperature = language, initial_prompt, temperature
        self.word_timestamps, self.min_speech_ms, self.vad_filter = word_timestamps, min_speech_ms, vad_filter
        self.target_dbfs = target_dbfs  # None: hand the file to faster-whisper untouched
        self._run_lock = threading.Lock()  # one decode at a time per loaded model

    def _load_model(self) -> Any:
        from faster_whisper import WhisperModel

        return WhisperModel(
            str(self.model_path), device="cpu", compute_type=self.compute_type, cpu_threads=self.threads,
        )  # fmt: skip

    def _decode(self, model: Any, seg: AudioSegment, path: str | Path) -> tuple[str, list[Segment]]:
        offset, source = self._prepare(seg, path)
        with self._run_lock:
            raw_segments, _info = model.transcribe(
                source, language=self.language, beam_size=self.beam_size, vad_filter=self.vad_filter,
                condition_on_previous_text=False, initial_prompt=self.initial_prompt, temperature=self.temperature,
                word_timestamps=self.word_timestamps,
            )  # fmt: skip
            raw = list(raw_segments)
        segments = [
            Segment(
                start=round(s.start + offset, 3),
                end=round(s.end + offset, 3),
                text=clean_transcript(s.text),
                words=[
                    Word(
                        to_simplified(w.word.strip()),
                        round(w.start + offset, 3),
                        round(w.end + offset, 3),
                        round(w.probability, 3),
                    )
                    for w in (s.words or [])
                ],
            )  # fmt: skip
            for s in raw
        ]
        return clean_transcript("".join(s.text for s in raw)), [s for s in segments if s.text]

    def _prepare(self, seg: AudioSegment, path: str | Path) -> tuple[float, Any]:
        """(seconds trimmed from the start, what faster-whisper decodes). With ``target_dbfs`` set,
        non-speech ends are trimmed and the level normalised (quiet voicemail is common), in memory,
        at the file's own rate; faster-whisper resamples to 16 kHz itself."""
        if self.target_dbfs is None:
            return 0.0, str(path)
        from faster_whisper import decode_audio

        leveled, offset = audio.trim_and_level(seg, self.target_dbfs)
        buf = io.BytesIO()
        leveled.export(buf, format="wav")
        buf.seek(0)
        return offset, decode_audio(buf, sampling_rate=16000)
