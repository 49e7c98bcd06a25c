"""make_engine configuration errors, stt_engine=auto, `hotline transcribe` with and without a model, and
transcribe_cli.run (with a stub engine: no model needed)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from recordings import audio
from recordings.stt import DisabledEngine, EngineUnavailable, Transcript, make_engine
from recordings.stt.locate import find_vosk_model, find_whisper_model, find_zh_dev
from recordings.stt.vosk_engine import VoskEngine
from recordings.stt.whisper_engine import WhisperEngine
from recordings.transcribe_cli import run

REPO = Path(__file__).resolve().parents[2]
VOSK, WHISPER, ZH_DEV = find_vosk_model(), find_whisper_model(), find_zh_dev()
needs_models = pytest.mark.needs("models", "audio")  # missing: a failure (tests/resources.py)


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


@pytest.fixture
def no_model_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A shared-data directory without models, and no model path in the environment."""
    for var in ("HOTLINE_VOSK_MODEL_PATH", "HOTLINE_WHISPER_MODEL_PATH", "HOTLINE_STT_ENGINE"):
        monkeypatch.delenv(var, raising=False)
    empty = tmp_path / "shared"
    (empty / "models").mkdir(parents=True)
    monkeypatch.setenv("HOTLINE_SHARED_DIR", str(empty))
    return empty


def test_make_engine_errors(tmp_path: Path, no_model_env: Path) -> None:
    with pytest.raises(EngineUnavailable, match="whisper_model_path"):
        make_engine("whisper")  # explicit engine, no model anywhere
    with pytest.raises(EngineUnavailable, match="vosk_model_path"):
        make_engine("vosk")
    with pytest.raises(EngineUnavailable, match="missing model.bin"):
        make_engine("whisper", whisper_model_path=tmp_path)
    with pytest.raises(EngineUnavailable, match="unknown stt_engine 'kaldi'"):
        make_engine("kaldi")


def test_auto_without_any_model_is_disabled_and_says_how_to_get_one(
    no_model_env: Path, tmp_path: Path
) -> None:
    e = make_engine("auto", models_dir=tmp_path / "var" / "models")
    assert isinstance(e, DisabledEngine)
    assert "hotline models fetch vosk-small-cn" in e.reason and str(no_model_env / "models") in e.reason


@needs_models
def test_auto_prefers_configured_then_found_vosk(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HOTLINE_VOSK_MODEL_PATH", "HOTLINE_WHISPER_MODEL_PATH"):
        monkeypatch.delenv(var, raising=False)
    found = make_engine("auto")  # nothing configured: the shared Vosk model
    assert isinstance(found, VoskEngine) and found.model_path == VOSK
    configured = make_engine("auto", whisper_model_path=WHISPER)  # a configured model wins
    assert isinstance(configured, WhisperEngine)
    assert isinstance(make_engine("whisper"), WhisperEngine)  # explicit engine, path found


def _hotline(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=REPO, env=os.environ | env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def test_cli_transcribe_without_model_exits_non_zero_with_how_to(no_model_env: Path, tmp_path: Path) -> None:
    wav = tone_wav(tmp_path / "a.wav")
    r = _hotline(
        {"HOTLINE_VAR_DIR": str(tmp_path / "var"), "HOTLINE_SESSION_SECRET": "x"}, "transcribe", str(wav)
    )
    assert r.returncode == 2, r
    assert r.stdout == ""
    assert "no speech model" in r.stderr and "hotline models fetch vosk-small-cn" in r.stderr


@needs_models
def test_cli_transcribe_auto_uses_the_shared_vosk_model(tmp_path: Path) -> None:
    assert ZH_DEV is not None
    clip = ZH_DEV / "8k" / "kimi_asr_example.wav"
    env = {"HOTLINE_VAR_DIR": str(tmp_path / "var"), "HOTLINE_SESSION_SECRET": "x"}
    r = _hotline(env, "transcribe", "--json", str(clip))
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)
    assert row["engine"] == "vosk" and row["sample_rate"] == 8000
    assert "篇章的结束" in row["text"]


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
