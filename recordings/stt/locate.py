"""Where speech models and the shared dev audio are: settings first, then the shared-data directory
beside the repository. No machine-specific path: the fallback is the checkout's sibling ``shared/``
(for a linked git worktree, also the main checkout's sibling).

Search order for a model directory (first that holds a model wins):
  1. the explicitly configured path (settings ``vosk_model_path`` / ``whisper_model_path``, env
     ``HOTLINE_VOSK_MODEL_PATH`` / ``HOTLINE_WHISPER_MODEL_PATH``),
  2. ``models_dir/<name>`` (where ``hotline models fetch`` installs; default ``var/models``),
  3. ``<shared>/models/<name>``: setting ``shared_dir`` / env ``HOTLINE_SHARED_DIR`` when set,
     else ``../shared`` beside the checkout.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
WHISPER_DIRNAME = "faster-whisper-base"
VOSK_DIRNAME = "vosk-model-small-cn-0.22"
FETCH_HINT = (
    "get one with `hotline models fetch vosk-small-cn` (or `whisper-base`), or point vosk_model_path / "
    "whisper_model_path (env HOTLINE_VOSK_MODEL_PATH / HOTLINE_WHISPER_MODEL_PATH) or shared_dir "
    "(env HOTLINE_SHARED_DIR) at an unpacked model"
)


def _checkout_roots() -> list[Path]:
    roots = [REPO]
    git = REPO / ".git"
    if git.is_file():  # a linked worktree: ".git" holds "gitdir: <main>/.git/worktrees/<name>"
        text = git.read_text(encoding="utf-8", errors="replace").strip()
        if text.startswith("gitdir:"):
            gitdir = Path(text[len("gitdir:") :].strip())
            if gitdir.parent.name == "worktrees":
                roots.append(gitdir.parent.parent.parent)
    return roots


def shared_dirs(shared_dir: str | Path | None = None) -> list[Path]:
    """The configured shared-data directory (setting or HOTLINE_SHARED_DIR) alone when there is one,
    else ``../shared`` beside the checkout (and beside the main checkout of a linked worktree)."""
    first = shared_dir or os.environ.get("HOTLINE_SHARED_DIR")
    if first:
        return [Path(first)]
    return list(dict.fromkeys(root.parent / "shared" for root in _checkout_roots()))


def model_dirs(models_dir: str | Path | None = None, shared_dir: str | Path | None = None) -> list[Path]:
    return ([Path(models_dir)] if models_dir else []) + [d / "models" for d in shared_dirs(shared_dir)]


def is_vosk_model(p: Path) -> bool:
    return (p / "am" / "final.mdl").is_file() or (p / "final.mdl").is_file()


def is_whisper_model(p: Path) -> bool:
    return (p / "model.bin").is_file() and (p / "config.json").is_file()


def vosk_model_candidates(
    models_dir: str | Path | None = None, shared_dir: str | Path | None = None
) -> list[Path]:
    env = os.environ.get("HOTLINE_VOSK_MODEL_PATH")
    return ([Path(env)] if env else []) + [d / VOSK_DIRNAME for d in model_dirs(models_dir, shared_dir)]


def whisper_model_candidates(
    models_dir: str | Path | None = None, shared_dir: str | Path | None = None
) -> list[Path]:
    env = os.environ.get("HOTLINE_WHISPER_MODEL_PATH")
    return ([Path(env)] if env else []) + [d / WHISPER_DIRNAME for d in model_dirs(models_dir, shared_dir)]


def find_vosk_model(
    models_dir: str | Path | None = None, shared_dir: str | Path | None = None
) -> Path | None:
    """The Mandarin Vosk model (vosk-model-small-cn-0.22): first candidate that is a Vosk model."""
    return next((p for p in vosk_model_candidates(models_dir, shared_dir) if is_vosk_model(p)), None)


def find_whisper_model(
    models_dir: str | Path | None = None, shared_dir: str | Path | None = None
) -> Path | None:
    """faster-whisper-base: first candidate that has model.bin and config.json."""
    return next((p for p in whisper_model_candidates(models_dir, shared_dir) if is_whisper_model(p)), None)


def find_zh_dev(shared_dir: str | Path | None = None) -> Path | None:
    """The zh-dev clip directory (16 kHz WAVs, 8k/ subdirectory, transcripts.tsv)."""
    cands = [d / "audio" / "zh-dev" for d in shared_dirs(shared_dir)]
    return next((p for p in cands if (p / "transcripts.tsv").is_file()), None)


def read_transcripts(tsv: Path) -> dict[str, str]:
    rows = (line.rstrip("\n").split("\t", 1) for line in tsv.read_text(encoding="utf-8").splitlines())
    return {r[0]: r[1] for r in rows if len(r) == 2 and r[0]}


@dataclass(frozen=True)
class EngineChoice:
    """What ``stt_engine`` resolves to: engine name, the model paths it uses, and why."""

    name: str  # "vosk" | "whisper" | "combo" | "none"
    vosk_model_path: Path | None
    whisper_model_path: Path | None
    reason: str


def choose_engine(
    name: str,
    *,
    vosk_model_path: str | Path | None = None,
    whisper_model_path: str | Path | None = None,
    models_dir: str | Path | None = None,
    shared_dir: str | Path | None = None,
) -> EngineChoice:
    """Resolve ``auto`` (and fill in missing model paths of an explicit engine) without loading a model.

    ``auto``: a configured model (Vosk, then Whisper), else a found one, else ``none`` with a reason
    saying how to get one. Vosk first: the same CER as Whisper on the zh-dev clips within noise
    (11.2 % vs 11.0 %), loads in 1.1 s instead of 2.6 s, 381 MB instead of 410 MB, and the live
    transcript needs it loaded anyway (bench/results/stt.md).
    An explicit engine with no configured path uses the found model (its own check reports absence).
    """
    vosk = Path(vosk_model_path) if vosk_model_path else find_vosk_model(models_dir, shared_dir)
    whisper = Path(whisper_model_path) if whisper_model_path else find_whisper_model(models_dir, shared_dir)
    if name != "auto":
        return EngineChoice(name, vosk, whisper, f"stt_engine = {name}")
    for label, path, test, configured in (
        ("vosk", vosk, is_vosk_model, vosk_model_path),
        ("whisper", whisper, is_whisper_model, whisper_model_path),
    ):
        if configured and path and test(path):
            return EngineChoice(label, vosk, whisper, f"auto: configured {label} model {path}")
    for label, path, test in (("vosk", vosk, is_vosk_model), ("whisper", whisper, is_whisper_model)):
        if path and test(path):
            return EngineChoice(label, vosk, whisper, f"auto: found {label} model {path}")
    looked = ", ".join(str(p) for p in vosk_model_candidates(models_dir, shared_dir))
    return EngineChoice(
        "none", None, None, f"auto: no speech model found (looked for Vosk in {looked}); {FETCH_HINT}"
    )


def choose_from_settings(settings: Any, name: str | None = None) -> EngineChoice:
    """:func:`choose_engine` with the paths of a settings object (duck-typed: recordings/ does not
    import app/)."""
    return choose_engine(
        name or str(getattr(settings, "stt_engine", "auto")),
        vosk_model_path=getattr(settings, "vosk_model_path", None),
        whisper_model_path=getattr(settings, "whisper_model_path", None),
        models_dir=getattr(settings, "models_dir", None),
        shared_dir=getattr(settings, "shared_dir", None),
    )
