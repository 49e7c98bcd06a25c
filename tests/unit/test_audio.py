"""recordings.audio: probing real 8 kHz voicemail, rejecting corrupt files, energy VAD, normalise."""

from __future__ import annotations

import math
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from recordings import audio
from recordings.stt.base import AudioError
from recordings.stt.locate import find_zh_dev

ZH_DEV = find_zh_dev()
needs_dev_audio = pytest.mark.needs("audio")  # missing: a failure (tests/resources.py)


def write_wav(path: Path, samples: np.ndarray, rate: int = 8000, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(samples).clip(-32768, 32767).astype("<i2").tobytes())
    return path


def tone(seconds: float, rate: int = 8000, amp: float = 8000.0, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return amp * np.sin(2 * math.pi * hz * t)


@needs_dev_audio
def test_probe_real_8k_clip() -> None:
    assert ZH_DEV is not None
    info = audio.probe(ZH_DEV / "8k" / "kimi_asr_example.wav")
    assert (info.sample_rate, info.channels, info.sample_width) == (8000, 1, 2)
    assert info.duration_s == pytest.approx(10.38, abs=0.01)
    assert audio.probe(ZH_DEV / "kimi_asr_example.wav").sample_rate == 16000


@needs_dev_audio
def test_speech_ms_of_real_speech_is_substantial() -> None:
    assert ZH_DEV is not None
    for clip in sorted((ZH_DEV / "8k").glob("*.wav")):
        assert audio.speech_ms(clip) > 1000, clip.name


def test_random_bytes_named_wav(tmp_path: Path) -> None:
    p = tmp_path / "random.wav"
    p.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(AudioError, match="not readable as audio"):
        audio.probe(p)


def test_truncated_header(tmp_path: Path) -> None:
    good = write_wav(tmp_path / "good.wav", tone(1.0))
    p = tmp_path / "trunc_header.wav"
    p.write_bytes(good.read_bytes()[:30])
    with pytest.raises(AudioError, match="truncated"):
        audio.probe(p)


def test_truncated_data(tmp_path: Path) -> None:
    good = write_wav(tmp_path / "good.wav", tone(1.0))
    p = tmp_path / "trunc_data.wav"
    p.write_bytes(good.read_bytes()[:2000])
    with pytest.raises(AudioError, match="truncated WAV"):
        audio.probe(p)


def test_zero_bytes_and_missing(tmp_path: Path) -> None:
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioError, match="zero-length"):
        audio.probe(tmp_path / "empty.wav")
    with pytest.raises(AudioError, match="no such file"):
        audio.speech_ms(tmp_path / "missing.wav")


def test_header_without_frames(tmp_path: Path) -> None:
    p = write_wav(tmp_path / "noframes.wav", np.zeros(0))
    with pytest.raises(AudioError, match="no audio frames"):
        audio.probe(p)


def test_text_file(tmp_path: Path) -> None:
    p = tmp_path / "notes.wav"
    p.write_text("这不是音频文件 " * 50, encoding="utf-8")
    with pytest.raises(AudioError):
        audio.probe(p)


def test_silence_and_steady_noise_have_no_speech(tmp_path: Path) -> None:
    assert audio.speech_ms(write_wav(tmp_path / "silence.wav", np.zeros(8000 * 3))) == 0
    noise = np.random.default_rng(0).normal(0, 3000, 8000 * 3)
    assert audio.speech_ms(write_wav(tmp_path / "noise.wav", noise)) < 100


def test_speech_ms_counts_bursts(tmp_path: Path) -> None:
    x = np.concatenate([np.zeros(8000), tone(0.5), np.zeros(8000), tone(0.5), np.zeros(4000)])
    assert audio.speech_ms(write_wav(tmp_path / "bursts.wav", x)) == pytest.approx(1000, abs=60)


def test_stereo_and_16k_keep_true_rate(tmp_path: Path) -> None:
    stereo = np.repeat(tone(1.0, rate=16000), 2)
    p = write_wav(tmp_path / "stereo16k.wav", stereo, rate=16000, channels=2)
    assert audio.probe(p) == audio.AudioInfo(16000, 2, 2, 1.0)
    pcm, rate, dur = audio.load_pcm16_mono(p)
    assert (rate, len(pcm), dur) == (16000, 32000, 1.0)


def test_normalise_trims_and_levels_keeping_rate(tmp_path: Path) -> None:
    x = np.concatenate([np.zeros(16000), tone(1.0, amp=500.0), np.zeros(16000)])
    src = write_wav(tmp_path / "quiet.wav", x)
    info = audio.normalise(src, tmp_path / "out.wav", target_dbfs=-20)
    assert info.sample_rate == 8000 and info.channels == 1
    assert 1.0 <= info.duration_s <= 1.5  # 1 s tone + 200 ms padding each side
    assert audio.load(tmp_path / "out.wav").dBFS == pytest.approx(-20, abs=0.5)


def test_normalise_leaves_silence_alone(tmp_path: Path) -> None:
    src = write_wav(tmp_path / "silence.wav", np.zeros(8000))
    assert audio.normalise(src, tmp_path / "out.wav").duration_s == 1.0


def test_sha256_file(tmp_path: Path) -> None:
    p = tmp_path / "x.bin"
    p.write_bytes(b"abc")
    assert audio.sha256_file(p) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


@pytest.mark.needs("tools")
@pytest.mark.parametrize("encoding", ["gsm-full-rate", "mu-law", "a-law"])
def test_asterisk_codecs_decode_at_true_rate(tmp_path: Path, encoding: str) -> None:
    src = write_wav(tmp_path / "tone.wav", np.concatenate([tone(1.0), np.zeros(4000)]))
    dst = tmp_path / f"{encoding}.wav"
    subprocess.run(["sox", str(src), "-e", encoding, str(dst)], check=True)
    info = audio.probe(dst)
    assert (info.sample_rate, info.channels, info.sample_width) == (8000, 1, 2)
    assert info.duration_s == pytest.approx(1.5, abs=0.05)
    assert 900 <= audio.speech_ms(dst) <= 1300  # GSM rings on a little after the tone stops
