"""make_engine configuration errors and transcribe_cli.run (with a stub engine: no model needed)."""

from __future__ import annotations

import io
import json
import wave
from pathlib import Path

import numpy as np
import pytest

from recordings import audio
from recordings.stt import DisabledEngine, EngineUnavailable, Transcript, make_engine
from recordings.transcribe_cli import run


class EchoEngine:
    """Reads the audio for real (so corrupt files fail as with a real engine), returns fixed text."""

    name = "echo"

    def transcribe(self, path: str | Path) -> Transcript:
        info = audio.probe(path)
        return Transcript("你好", [], "zh", self.name, "stub", info.duration_s, 0.1, info.sample_rate, None)


def tone_wav(path: Path) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes((8000 * np.sin(np.arange(8000) / 3)).astype("<i2").tobytes())
    return path


def test_make_engine_errors(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable, match="whisper_model_path"):
        make_engine("whisper")
    with pytest.raises(EngineUnavailable, match="missing model.bin"):
        make_engine("whisper", whisper_model_path=tmp_path)
    with pytest.raises(EngineUnavailable, match="unknown stt_engine 'kaldi'"):
        make_engine("kaldi")


def test_disabled_engine(tmp_path: Path) -> None:
    e = make_engine("none")
    assert isinstance(e, DisabledEngine)
    t = e.transcribe(tone_wav(tmp_path / "a.wav"))
    assert (t.text, t.empty_reason, t.sample_rate) == ("", "disabled", 8000)


def test_run_json_continues_after_corrupt_file(tmp_path: Path) -> None:
    good = tone_wav(tmp_path / "good.wav")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"\x00garbage" * 100)
    out = io.StringIO()
    rc = run([str(bad), str(good)], EchoEngine(), as_json=True, out=out)
    assert rc == 1
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["file"] for r in rows] == [str(bad), str(good)]
    assert rows[0]["error"].startswith("AudioError") and rows[0]["text"] is None
    ok = rows[1]
    assert ok["error"] is None and ok["text"] == "你好" and ok["engine"] == "echo"
    assert ok["audio_seconds"] == 1.0 and ok["rtf"] == 0.1 and ok["empty_reason"] is None


def test_run_text_all_ok(tmp_path: Path) -> None:
    out = io.StringIO()
    good = tone_wav(tmp_path / "good.wav")
    assert run([str(good)], EchoEngine(), as_json=False, out=out) == 0
    assert out.getvalue() == f"{good}\t你好\n"
