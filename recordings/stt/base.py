"""Engine-neutral transcript types and the ``SpeechEngine`` protocol."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

#: Files with less energy-detected speech than this are not sent to a model at all.
DEFAULT_MIN_SPEECH_MS = 300


class AudioError(Exception):
    """The audio file is missing, empty, truncated, corrupt or not audio at all."""


class EngineUnavailable(Exception):
    """The speech engine cannot run: model not configured, path missing or not a model."""


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float
    conf: float | None = None


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)


@dataclass
class Transcript:
    text: str
    segments: list[Segment]
    language: str
    engine: str
    model: str
    audio_seconds: float
    process_seconds: float
    sample_rate: int
    #: None when text was produced; "silence" (energy gate, model not called) or
    #: "no_speech" (the model / its VAD found nothing) when text is empty.
    empty_reason: str | None = None

    @property
    def rtf(self) -> float | None:
        """Real-time factor: processing seconds per second of audio."""
        return round(self.process_seconds / self.audio_seconds, 4) if self.audio_seconds > 0 else None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["rtf"] = self.rtf
        return d


@runtime_checkable
class SpeechEngine(Protocol):
    name: str

    def transcribe(self, path: str | Path) -> Transcript: ...


def model_label(model_path: str | Path) -> str:
    """Short model name for transcripts: the directory name (with its parent when that is generic)."""
    p = Path(model_path)
    return (
        f"{p.parent.name}/{p.name}" if p.name in ("model", "models") and p.parent.name else p.name or str(p)
    )
