"""Where voicemail files live and what the backend learns from one before anything transcribes it.

Asterisk and the backend share the disk: Asterisk records straight into the recordings directory
(absolute paths), the backend reads from it."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

from recordings import audio
from recordings.stt.base import AudioError


def recording_path(recordings_dir: str | Path | None, uniqueid: str, now: datetime | None = None) -> Path:
    """<recordings_dir>/YYYY/MM/DD/<uniqueid>-<random>.wav (absolute: Asterisk writes, we read)."""
    now = now or datetime.now(UTC)
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", uniqueid or "unknown")[:64]
    base = Path(recordings_dir or "recordings").resolve()
    return base / now.strftime("%Y/%m/%d") / f"{safe}-{uuid.uuid4().hex[:8]}.wav"


def file_facts(path: Path) -> tuple[str, int, float | None, int | None]:
    """(sha256, bytes, duration s, sample rate); duration/rate None for unreadable audio, which is
    kept and queued all the same: its job gives the case a clear status."""
    try:
        info = audio.probe(path)
        duration, rate = info.duration_s, info.sample_rate
    except AudioError:
        duration, rate = None, None
    return audio.sha256_file(path), path.stat().st_size, duration, rate
