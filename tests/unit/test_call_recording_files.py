"""What the backend concludes from a MixMonitor file after the call (recordings.calls)."""

from __future__ import annotations

import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from recordings import calls as rc


def _wav(path: Path, seconds: float) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x01\x00" * int(8000 * seconds))
    return path


def test_a_recorded_call_is_ok_with_its_size_and_length(tmp_path):
    f = rc.inspect(_wav(tmp_path / "a.wav", 3.5))
    assert (f.status, f.bytes, f.seconds) == (rc.OK, 44 + 56000, 3.5)


@pytest.mark.parametrize(
    ("make", "detail"),
    [
        (lambda p: p, "没有录音文件"),
        (lambda p: _wav(p, 0), "录音文件为空"),
        (lambda p: (p.write_bytes(b"not a wav at all, just text"), p)[1], "录音文件损坏"),
    ],
)
def test_no_file_an_empty_or_a_broken_one_is_a_failed_recording(tmp_path, make, detail):
    f = rc.inspect(make(tmp_path / "x.wav"))
    assert f.status == rc.FAILED and f.detail.startswith(detail), f


def test_a_header_never_finalised_counts_its_data(tmp_path):
    p = _wav(tmp_path / "c.wav", 2.0)
    raw = bytearray(p.read_bytes())
    raw[40:44] = b"\x00\x00\x00\x00"  # data size 0: the writer died before closing the file
    p.write_bytes(bytes(raw))
    f = rc.inspect(p)
    assert f.status == rc.OK and f.seconds == 2.0


def test_paths_come_only_from_channel_ids(tmp_path):
    assert rc.path_for(tmp_path, "1700000000.42") == tmp_path / "1700000000.42.wav"
    for bad in ("../etc/passwd", "", ".hidden", "a/b", "x" * 65):
        with pytest.raises(ValueError):
            rc.path_for(tmp_path, bad)


def test_retention():
    now = datetime(2026, 12, 2, tzinfo=UTC)
    assert rc.expired(now - timedelta(days=181), now, 180)
    assert not rc.expired(now - timedelta(days=179), now, 180)
    assert not rc.expired(now - timedelta(days=9999), now, 0)  # 0 keeps them all
