"""What a test hears in a WAV file: a tone made with sox, its level and its dominant frequency."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np


def tone_wav(path: Path, hz: int, seconds: float, lead_s: float = 0.0) -> Path:
    """An 8 kHz mono 16-bit sine after ``lead_s`` of silence (a simulated citizen starts playing when
    the hotline answers, before the queue finds an agent). Asterisk plays it without transcoding."""
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(path), "synth", str(seconds),
                    "sine", str(hz), "vol", "0.5", "pad", str(lead_s), "0"], check=True)  # fmt: skip
    return path


def samples(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        rate, width, channels = w.getframerate(), w.getsampwidth(), w.getnchannels()
        raw = w.readframes(w.getnframes())
    assert width == 2, f"{path}: {width * 8}-bit"
    x = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    return (x.reshape(-1, channels).mean(axis=1) if channels > 1 else x), rate


def loud_seconds(path: Path, level: float = 0.05) -> float:
    """Seconds of the file whose 20 ms RMS is above ``level`` (digital silence and comfort noise are not)."""
    x, rate = samples(path)
    n = rate // 50
    frames = x[: len(x) // n * n].reshape(-1, n)
    return float((np.sqrt((frames**2).mean(axis=1)) > level).sum() / 50) if len(frames) else 0.0


def dominant_hz(path: Path, level: float = 0.05) -> float:
    """The strongest frequency of the loud part of the file."""
    x, rate = samples(path)
    n = rate // 50
    frames = x[: len(x) // n * n].reshape(-1, n)
    loud = frames[np.sqrt((frames**2).mean(axis=1)) > level].ravel()
    if len(loud) < rate // 10:
        return 0.0
    spectrum = np.abs(np.fft.rfft(loud * np.hanning(len(loud))))
    return float(np.fft.rfftfreq(len(loud), 1 / rate)[int(spectrum.argmax())])
