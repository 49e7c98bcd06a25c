"""Reading and inspecting voicemail audio (stdlib ``wave`` first, pydub/ffmpeg for anything else).

Every reader keeps the file's TRUE sample rate: Asterisk voicemail is 8 kHz and stays 8 kHz here.
Anything that is missing, zero-length, truncated, corrupt or not audio raises :class:`AudioError`.
"""

from __future__ import annotations

import hashlib
import json
import struct
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydub import AudioSegment

from recordings.stt.base import AudioError

FRAME_MS = 20
#: A frame counts as voiced when louder than this (dBFS) ...
ABS_THRESHOLD_DBFS = -55.0
#: ... and louder than the file's own noise floor (5th percentile of frame levels) by this margin.
#: Steady noise varies < 1 dB frame to frame, so it stays below; speech, even without pauses, does not.
NOISE_PERCENTILE = 5
NOISE_MARGIN_DB = 3.0


@dataclass(frozen=True)
class AudioInfo:
    sample_rate: int
    channels: int
    sample_width: int  # bytes per sample
    duration_s: float


def _read_wave(p: Path) -> AudioSegment:
    with wave.open(str(p), "rb") as w:
        rate, channels, width, nframes = w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()
        if rate <= 0 or channels <= 0 or width <= 0:
            raise AudioError(f"{p}: invalid WAV header (rate={rate}, channels={channels}, width={width})")
        if nframes == 0:
            raise AudioError(f"{p}: WAV file contains no audio frames")
        data = w.readframes(nframes)
    got = len(data) // (channels * width)
    if got < nframes:
        raise AudioError(f"{p}: truncated WAV: header declares {nframes} frames, file holds {got}")
    if width == 1:  # 8-bit WAV is unsigned; pydub expects signed samples
        data = (np.frombuffer(data, np.uint8).astype(np.int16) - 128).astype(np.int8).tobytes()
    return AudioSegment(data=data, sample_width=width, frame_rate=rate, channels=channels)


def _read_ffmpeg(p: Path, max_s: float | None = None) -> AudioSegment:
    """Anything that is not plain PCM WAV (GSM wav49, mu-law, raw .gsm, mp3, ...): ffprobe for the
    true rate / channels, ffmpeg to 16-bit PCM (pydub would pick 8-bit output for 8-bit codecs)."""
    try:
        info = json.loads(
            subprocess.run(
                [
                    "ffprobe",
                    "-v",
                    "error",
                    "-select_streams",
                    "a:0",
                    "-show_entries",
                    "stream=sample_rate,channels",
                    "-of",
                    "json",
                    str(p),
                ],
                capture_output=True,
                text=True,
                check=True,
                timeout=60,
            ).stdout  # fmt: skip
        )
        stream = info["streams"][0]
        rate, channels = int(stream["sample_rate"]), int(stream["channels"])
        pcm = subprocess.run(
            [
                "ffmpeg",
                "-v",
                "error",
                "-nostdin",
                "-i",
                str(p),
                *(["-t", f"{max_s + 1:g}"] if max_s else []),
                "-f",
                "s16le",
                "-acodec",
                "pcm_s16le",
                "-",
            ],  # fmt: skip
            capture_output=True,
            check=True,
            timeout=600,
        ).stdout
    except FileNotFoundError as exc:
        raise AudioError(f"{p}: not a PCM WAV and ffmpeg/ffprobe are not installed to decode it") from exc
    except subprocess.CalledProcessError as exc:
        msg = (exc.stderr if isinstance(exc.stderr, str) else exc.stderr.decode("utf-8", "replace")).strip()
        raise AudioError(
            f"{p}: not readable as audio ({(msg.splitlines() or ['ffmpeg failed'])[-1][:200]})"
        ) from exc
    except (KeyError, IndexError, ValueError, subprocess.TimeoutExpired) as exc:
        raise AudioError(f"{p}: not readable as audio (no audio stream found)") from exc
    usable = len(pcm) - len(pcm) % (2 * channels)
    if rate <= 0 or usable == 0:
        raise AudioError(f"{p}: decoded to zero samples")
    if max_s and usable / (2 * channels * rate) > max_s:  # the header under-stated the length
        raise AudioError(f"{p}: audio is longer than the {max_s:g} s limit")
    return AudioSegment(data=pcm[:usable], sample_width=2, frame_rate=rate, channels=channels)


def load(path: str | Path, max_s: float | None = None) -> AudioSegment:
    """Decode ``path`` into a pydub segment at its native rate/width/channels, or raise AudioError.
    With ``max_s``, longer audio is refused from the header and ffmpeg decodes at most that much."""
    p = Path(path)
    if not p.is_file():
        raise AudioError(f"{p}: no such file")
    size = p.stat().st_size
    if size == 0:
        raise AudioError(f"{p}: zero-length file")
    with p.open("rb") as f:
        head = f.read(12)
    check_duration(p, max_s)
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        try:
            return _read_wave(p)
        except wave.Error as exc:
            # Non-PCM WAV (GSM "wav49", mu-law, extensible, ...) is decoded by ffmpeg instead.
            if not str(exc).startswith("unknown format"):
                raise AudioError(f"{p}: corrupt WAV ({exc})") from exc
        except (EOFError, struct.error) as exc:
            raise AudioError(f"{p}: truncated WAV header ({exc or 'unexpected end of file'})") from exc
    elif size < 64:
        raise AudioError(f"{p}: {size} bytes is too short to be audio")
    return _read_ffmpeg(p, max_s)


def header_duration(path: str | Path) -> float | None:
    """Duration from the container header only (WAV header, else ffprobe): nothing is decoded.
    None when the header does not say (e.g. raw GSM); AudioError when the file is not audio."""
    p = Path(path)
    if not p.is_file():
        raise AudioError(f"{p}: no such file")
    with p.open("rb") as f:
        head = f.read(12)
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        try:
            with wave.open(str(p), "rb") as w:
                rate = w.getframerate()
                return w.getnframes() / rate if rate > 0 else None
        except wave.Error:
            pass  # non-PCM WAV: ffprobe below
        except (EOFError, struct.error) as exc:
            raise AudioError(f"{p}: truncated WAV header ({exc or 'unexpected end of file'})") from exc
    try:
        out = subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(p)],
            capture_output=True, text=True, check=True, timeout=30,
        ).stdout  # fmt: skip
        return float(json.loads(out)["format"]["duration"])
    except (FileNotFoundError, subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return None
    except (KeyError, ValueError, TypeError):
        return None


def check_duration(path: str | Path, max_s: float | None) -> None:
    """Refuse (AudioError) audio longer than ``max_s`` seconds before anything is decoded. A file whose
    header gives no duration is refused when larger than ``max_s`` of 16-bit stereo 48 kHz would be."""
    if not max_s:
        return
    d = header_duration(path)
    if d is None:
        if Path(path).stat().st_size > max_s * 48000 * 2 * 2:
            raise AudioError(f"{path}: duration unknown and file too large for the {max_s:g} s limit")
        return
    if d > max_s:
        raise AudioError(f"{path}: audio is {d:.0f} s long, longer than the {max_s:g} s limit; not decoded")


def probe(path: str | Path) -> AudioInfo:
    seg = load(path)
    return AudioInfo(
        seg.frame_rate, seg.channels, seg.sample_width, round(seg.frame_count() / seg.frame_rate, 4)
    )


def pcm16_mono(seg: AudioSegment) -> AudioSegment:
    """16-bit mono at the SAME sample rate (converted only when the file is not already so)."""
    if seg.channels != 1:
        seg = seg.set_channels(1)
    if seg.sample_width != 2:
        seg = seg.set_sample_width(2)
    return seg


def load_pcm16_mono(path: str | Path) -> tuple[bytes, int, float]:
    """(raw little-endian 16-bit mono PCM, true sample rate, duration seconds)."""
    seg = pcm16_mono(load(path))
    return seg.raw_data, seg.frame_rate, seg.frame_count() / seg.frame_rate


def frame_levels(seg: AudioSegment, frame_ms: int = FRAME_MS) -> np.ndarray:
    """RMS level of each ``frame_ms`` frame in dBFS (-120 for digital silence)."""
    mono = pcm16_mono(seg)
    x = np.frombuffer(mono.raw_data, dtype="<i2").astype(np.float32) / 32768.0
    n = max(1, int(mono.frame_rate * frame_ms / 1000))
    usable = (len(x) // n) * n
    if usable == 0:
        return np.zeros(0, dtype=np.float32)
    rms = np.sqrt(np.mean(x[:usable].reshape(-1, n) ** 2, axis=1))
    return np.asarray(20.0 * np.log10(np.maximum(rms, 1e-6)), dtype=np.float32)


def voiced_mask(levels: np.ndarray) -> np.ndarray:
    if levels.size == 0:
        return np.zeros(0, dtype=bool)
    floor = float(np.percentile(levels, NOISE_PERCENTILE))
    return np.asarray(levels > max(ABS_THRESHOLD_DBFS, floor + NOISE_MARGIN_DB))


def speech_ms_of(seg: AudioSegment) -> int:
    return int(voiced_mask(frame_levels(seg)).sum()) * FRAME_MS


def speech_ms(path: str | Path) -> int:
    """Energy-based voiced duration in ms. Digital silence and steady noise both count as ~0."""
    return speech_ms_of(load(path))


def trim_and_level(
    seg: AudioSegment, target_dbfs: float | None = -20.0, pad_ms: int = 200, trim: bool = True
) -> tuple[AudioSegment, float]:
    """In memory: trim leading/trailing non-speech (keeping ``pad_ms``) and level to ``target_dbfs``
    (peaks kept below -1 dBFS). Returns the new segment and the seconds cut from the start (to shift
    timestamps back). A segment with no voiced frames is returned unchanged: amplifying a silent
    line only raises its noise."""
    mask = voiced_mask(frame_levels(seg))
    if not mask.any():
        return seg, 0.0
    start_ms = 0
    if trim:
        idx = np.flatnonzero(mask)
        start_ms = max(0, int(idx[0]) * FRAME_MS - pad_ms)
        seg = seg[start_ms : min(len(seg), (int(idx[-1]) + 1) * FRAME_MS + pad_ms)]
    if target_dbfs is not None:
        seg = seg.apply_gain(min(target_dbfs - seg.dBFS, -1.0 - seg.max_dBFS))
    return seg, start_ms / 1000.0


def normalise(
    path: str | Path, out_path: str | Path, target_dbfs: float = -20.0, pad_ms: int = 200
) -> AudioInfo:
    """Trim leading/trailing non-speech, level to ``target_dbfs`` and write a WAV with the same
    sample rate, width and channels as the input (see :func:`trim_and_level`)."""
    src, dst = Path(path), Path(out_path)
    seg, _offset = trim_and_level(load(src), target_dbfs, pad_ms)
    dst.parent.mkdir(parents=True, exist_ok=True)
    seg.export(str(dst), format="wav")
    return probe(dst)


def sha256_file(path: str | Path, chunk: int = 1 << 16) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()
