"""``stt_engine = combo``: Vosk and Whisper both transcribe the file; the transcript whose words have
the higher mean confidence is kept (Vosk: Kaldi word posterior; Whisper: word probability).

Measured on the zh-dev clips at 8 kHz (bench/results/stt.md, full-size run, 5 decoding draws per
clip): CER 6.5 % (5.9-6.8 %) against 11.2 % for Vosk (10.5-12.3 %: Kaldi dithers) and 11.0 % for
Whisper; better than either engine in every draw, but on 8 clips a paired bootstrap gives -10.0 ..
+0.6 points, so not a proven win. Cost in the same run: 0.50 CPU s per audio s (1.5x Vosk's 0.33,
3x Whisper's 0.17), 680 MB peak RSS instead of 381 MB, 4.5 s model load instead of 1.1 s. So ``auto``
keeps Vosk alone (the simplest); ``combo`` is there for whoever accepts that cost.
"""

from __future__ import annotations

from pathlib import Path
from statistics import fmean

from recordings.stt.base import Transcript
from recordings.stt.vosk_engine import VoskEngine
from recordings.stt.whisper_engine import WhisperEngine


def mean_confidence(t: Transcript) -> float | None:
    confs = [w.conf for s in t.segments for w in s.words if w.conf is not None]
    return fmean(confs) if confs else None


class ComboEngine:
    name = "combo"

    def __init__(self, vosk: VoskEngine, whisper: WhisperEngine) -> None:
        whisper.word_timestamps = True  # word probabilities are the confidence
        self.vosk, self.whisper = vosk, whisper
        self.model_path = f"{vosk.model_path} + {whisper.model_path}"
        self.max_audio_s: float | None = None

    def load(self) -> None:
        self.vosk.load()
        self.whisper.load()

    def transcribe_both(self, path: str | Path) -> tuple[Transcript, Transcript | None]:
        """(Vosk's, Whisper's) transcripts; Whisper's is None when the energy gate found silence."""
        for e in (self.vosk, self.whisper):
            e.max_audio_s = self.max_audio_s
        v = self.vosk.transcribe(path)
        if v.empty_reason == "silence":  # the energy gate answers for both: no second model run
            return v, None
        return v, self.whisper.transcribe(path)

    def transcribe(self, path: str | Path) -> Transcript:
        return combine(*self.transcribe_both(path))


def combine(v: Transcript, w: Transcript | None) -> Transcript:
    """The combo transcript of Vosk's ``v`` and Whisper's ``w``: the one with the higher mean word
    confidence (Vosk on a tie, or when Whisper did not run or has no words)."""
    process, cv, cw = v.process_seconds, None, None
    picked = v
    if w is not None:
        process += w.process_seconds
        cv, cw = mean_confidence(v), mean_confidence(w)
        picked = v if cw is None or (cv is not None and cv >= cw) else w
    confs = f"vosk conf {_r(cv)}, whisper conf {_r(cw)}"
    return Transcript(
        text=picked.text, segments=picked.segments, language=picked.language, engine="combo",
        model=f"{picked.engine}:{picked.model} ({confs})", audio_seconds=picked.audio_seconds,
        process_seconds=round(process, 3), sample_rate=picked.sample_rate, empty_reason=picked.empty_reason,
    )  # fmt: skip


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 3)
