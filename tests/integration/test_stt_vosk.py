"""Vosk engine on the real Mandarin model (shared/models/vosk-model-small-cn-0.22) and the zh-dev clips
at 8 kHz (as Asterisk voicemail) and 16 kHz: text, word timings, accuracy, silence, bounds."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from recordings.stt import AudioError, EngineUnavailable, Transcript, make_engine
from recordings.stt.locate import find_vosk_model, find_zh_dev, read_transcripts
from recordings.stt.metrics import cer, cer_counts
from recordings.stt.vosk_engine import VoskEngine

MODEL = find_vosk_model()
ZH_DEV = find_zh_dev()
pytestmark = pytest.mark.needs("models", "audio", "tools")  # missing: a failure (tests/resources.py)
REFS = read_transcripts(ZH_DEV / "transcripts.tsv") if ZH_DEV else {}
CLIPS = sorted(REFS) or ["(zh-dev clips missing)"]  # never an empty, silently skipped parametrization
#: Measured 10.5-12.3 % overall at 8 kHz over 5 draws (bench/results/stt.md); the limit catches a broken rate or decoder.
OVERALL_CER_LIMIT = 0.18
#: One clip (1.8 s, fast casual speech) is at 50 %: per clip only "not lost".
PER_CLIP_CER_LIMIT = 0.6


@pytest.fixture(scope="module")
def engine() -> VoskEngine:
    e = make_engine("vosk")  # no path configured: found in the shared models directory
    assert isinstance(e, VoskEngine) and e.model_path == MODEL
    e.load()
    return e


_cache: dict[str, Transcript] = {}


def transcript(engine: VoskEngine, clip: str) -> Transcript:
    if clip not in _cache:
        assert ZH_DEV is not None
        _cache[clip] = engine.transcribe(ZH_DEV / "8k" / clip)
    return _cache[clip]


def write_wav(path: Path, samples: np.ndarray, rate: int = 8000, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(samples).clip(-32768, 32767).astype("<i2").tobytes())
    return path


@pytest.mark.parametrize("clip", CLIPS)
def test_clip_8k_text_and_word_timings(engine: VoskEngine, clip: str) -> None:
    t = transcript(engine, clip)
    assert (t.engine, t.language, t.sample_rate, t.empty_reason) == ("vosk", "zh", 8000, None)
    assert t.model == "vosk-model-small-cn-0.22"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in t.text), t.text
    words = [w for s in t.segments for w in s.words]
    assert words and [w.start for w in words] == sorted(w.start for w in words)
    for w in words:
        assert 0 <= w.start <= w.end <= t.audio_seconds + 0.05, w
        assert w.conf is not None and 0 <= w.conf <= 1
    c = cer(REFS[clip], t.text)
    assert c < PER_CLIP_CER_LIMIT, f"{clip}: CER {c:.1%}\n ref: {REFS[clip]}\n hyp: {t.text}"


def test_overall_cer_8k(engine: VoskEngine) -> None:
    edits = chars = 0
    lines = []
    for clip in CLIPS:
        t = transcript(engine, clip)
        e, n = cer_counts(REFS[clip], t.text)
        edits, chars = edits + e, chars + n
        lines.append(f"{clip}: CER {e / n:.1%} ({e}/{n})  hyp: {t.text}")
    report = f"overall CER {edits / chars:.1%}\n" + "\n".join(lines)
    print(report)
    assert edits / chars < OVERALL_CER_LIMIT, report


def test_16k_and_stereo_keep_their_true_rate(engine: VoskEngine, tmp_path: Path) -> None:
    assert ZH_DEV is not None
    clip = "firered_BAC009S0764W0121.wav"
    t16 = engine.transcribe(ZH_DEV / clip)
    assert t16.sample_rate == 16000 and cer(REFS[clip], t16.text) < 0.2, t16.text
    stereo = tmp_path / "stereo.wav"
    subprocess.run(["sox", str(ZH_DEV / "8k" / clip), "-c", "2", str(stereo)], check=True)
    ts = engine.transcribe(stereo)
    assert ts.sample_rate == 8000 and cer(REFS[clip], ts.text) < 0.2, ts.text


def test_wrong_path_is_engine_unavailable(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable, match="does not exist"):
        make_engine("vosk", vosk_model_path=tmp_path / "nope")
    with pytest.raises(EngineUnavailable, match="not a Vosk model"):
        make_engine("vosk", vosk_model_path=tmp_path)


def test_silence_is_empty_without_loading_the_model(tmp_path: Path) -> None:
    assert MODEL is not None
    fresh = VoskEngine(MODEL)
    t = fresh.transcribe(write_wav(tmp_path / "silence.wav", np.zeros(8000 * 3)))
    assert (t.text, t.empty_reason, t.sample_rate, t.segments) == ("", "silence", 8000, [])
    assert fresh._model is None


def test_too_long_audio_is_refused_before_decoding(tmp_path: Path) -> None:
    assert MODEL is not None
    e = make_engine("vosk", max_audio_s=5)
    long = write_wav(tmp_path / "long.wav", np.zeros(8000 * 6))
    with pytest.raises(AudioError, match="longer than the 5 s limit"):
        e.transcribe(long)
    assert e._model is None  # type: ignore[attr-defined]
    # a WAV header claiming ~3 days of audio: refused from the header, nothing read
    fake = tmp_path / "huge.wav"
    data = bytearray(long.read_bytes()[:44])
    data[40:44] = (0xFFFFFFF0).to_bytes(4, "little")
    fake.write_bytes(bytes(data) + b"\x00" * 1000)
    with pytest.raises(AudioError, match="longer than"):
        e.transcribe(fake)
