"""Agent-call recordings (MixMonitor, docs/adr/2026-12-02-call-recording.md): where Asterisk writes
one, what the backend learns from the file after the call, and when it expires.

Asterisk and the backend share the directory: the queue's MixMonitor writes
<dir>/<caller channel uniqueid>.wav (one file per call; a caller transferred to another queue on the
same server is appended to it), the backend reads it after AgentComplete."""

from __future__ import annotations

import os
import re
import wave
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

WAV_HEADER = 44
MIN_AUDIO_S = 0.2  # shorter than this is "empty": MixMonitor opened the file but wrote (almost) nothing

OK = "ok"
FAILED = "failed"
PURGED = "purged"


def safe_id(uniqueid: str) -> str:
    """The file name part of a uniqueid (Asterisk's are [A-Za-z0-9.-_]; anything else is refused)."""
    if not uniqueid or not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", uniqueid) or uniqueid.startswith("."):
        raise ValueError(f"not a channel uniqueid: {uniqueid!r}")
    return uniqueid


def path_for(directory: Path, uniqueid: str) -> Path:
    """Where MixMonitor writes the call whose caller channel has this uniqueid (the dialplan's
    MONITOR_FILENAME=${HOTLINE_CALLREC}/${UNIQUEID}, queues.conf monitor-format = wav)."""
    return Path(directory) / f"{safe_id(uniqueid)}.wav"


@dataclass(frozen=True)
class Facts:
    status: str  # ok | failed
    bytes: int
    seconds: float
    detail: str = ""


def inspect(path: Path) -> Facts:
    """What the file says after the call: missing, empty (a header and no audio) or unreadable is
    a failed recording, never silently nothing."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return Facts(FAILED, 0, 0.0, "没有录音文件")
    except OSError as e:
        return Facts(FAILED, 0, 0.0, f"录音文件不可读: {e.strerror}")
    try:
        with wave.open(str(path), "rb") as w:
            rate, width, channels, frames = (
                w.getframerate(),
                w.getsampwidth(),
                w.getnchannels(),
                w.getnframes(),
            )
    except (wave.Error, EOFError, OSError) as e:
        return Facts(FAILED, size, 0.0, f"录音文件损坏: {e}")
    if not frames and size > WAV_HEADER:  # header not finalised (writer died): count the data bytes
        frames = (size - WAV_HEADER) // max(1, width * channels)
    seconds = round(frames / rate, 2) if rate else 0.0
    if seconds < MIN_AUDIO_S:
        return Facts(FAILED, size, seconds, "录音文件为空")
    return Facts(OK, size, seconds)


def expired(created_at: datetime, now: datetime, retention_days: int) -> bool:
    """A recording older than the retention is purged (retention 0 or less keeps them all)."""
    return retention_days > 0 and now - created_at > timedelta(days=retention_days)


def size_of(path: Path) -> int:
    """The file's size now; -1 while it does not exist."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return -1


def delete(path: Path) -> None:
    path.unlink(missing_ok=True)


def present(path: Path) -> bool:
    return path.is_file()


def expired_files(directory: Path, now: datetime, retention_days: int, limit: int = 5000) -> list[Path]:
    """Recordings in ``directory`` last written longer ago than the retention, whether or not a call
    row names them: e.g. the province's own file of a leg transferred to it over the trunk (the call's
    recording is the caller's channel's, on the other server). Up to ``limit`` per call."""
    if retention_days <= 0:
        return []
    out: list[Path] = []
    try:
        entries = os.scandir(directory)
    except OSError:
        return []
    with entries:
        for entry in entries:
            if not entry.name.endswith(".wav") or not entry.is_file(follow_symlinks=False):
                continue
            try:
                written = datetime.fromtimestamp(entry.stat(follow_symlinks=False).st_mtime, UTC)
            except OSError:
                continue
            if expired(written, now, retention_days):
                out.append(Path(entry.path))
                if len(out) >= limit:
                    break
    return out
