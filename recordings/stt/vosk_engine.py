"""Offline transcription with Vosk (Kaldi). Fed 16-bit mono PCM at the file's TRUE sample rate."""

from __future__ import annotations

import json
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


def check_vosk_model_dir(model_path: str | Path | None) -> Path:
    if not model_path:
        raise EngineUnavailable(
            "Vosk model not configured: set vosk_model_path (env HOTLINE_VOSK_MODEL_PATH) to an unpacked "
            "Vosk model directory (with am/final.mdl and conf/model.conf)"
        )
    p = Path(model_path)
    if not p.is_dir():
        raise EngineUnavailable(
            f"Vosk model directory {p} does not exist: set vosk_model_path to an unpacked model"
        )
    if not ((p / "am" / "final.mdl").is_file() or (p / "final.mdl").is_file()):
        raise EngineUnavailable(f"{p} is not a Vosk model directory (no am/final.mdl): check vosk_model_path")
    return p


def _words(result: dict[str, Any]) -> list[Word]:
    return [
        Word(to_simplified(w["word"]), round(float(w["start"]), 3), round(float(w["end"]), 3),
             round(float(w["conf"]), 3) if "conf" in w else None)
        for w in result.get("result", [])
    ]  # fmt: skip


class VoskEngine(LazyModelEngine):
    name = "vosk"
    label = "Vosk"

    def __init__(
        self,
        model_path: str | Path,
        *,
        language: str = "zh",
        min_speech_ms: int = DEFAULT_MIN_SPEECH_MS,
        chunk_seconds: float = 0.5,
    ) -> None:
        super().__init__(check_vosk_model_dir(model_path))
        self.model = model_label(self.model_path)
        self.language, self.min_speech_ms, self.chunk_seconds = language, min_speech_ms, chunk_seconds

    def _load_model(self) -> Any:
        """A Vosk model is shared; recognizers are per call."""
        import vosk

        vosk.SetLogLevel(-1)
        return vosk.Model(str(self.model_path))

    def _decode(self, model: Any, seg: AudioSegment, path: str | Path) -> tuple[str, list[Segment]]:
        from vosk import KaldiRecognizer

        rate = seg.frame_rate
        pcm = audio.pcm16_mono(seg).raw_data  # same rate; only channels / width converted if needed
        rec = KaldiRecognizer(model, float(rate))  # the TRUE rate: 8000 for Asterisk voicemail
        rec.SetWords(True)
        step = max(2, int(rate * self.chunk_seconds) * 2)
        results: list[dict[str, Any]] = []
        for i in range(0, len(pcm), step):
            if rec.AcceptWaveform(pcm[i : i + step]):
                results.append(json.loads(rec.Result()))
        results.append(json.loads(rec.FinalResult()))
        segments = []
        for r in results:
            words = _words(r)
            text = clean_transcript(r.get("text", ""))
            if text and words:
                segments.append(Segment(words[0].start, words[-1].end, text, words))
        return clean_transcript(" ".join(s.text for s in segments)), segments
