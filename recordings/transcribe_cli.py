"""``hotline transcribe`` body: transcribe files with one engine, print text or JSON lines.

The lead wires this into app/cli.py; here is only ``run`` (plus a tiny ``main`` for manual use).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TextIO

from tqdm import tqdm

from recordings.stt.base import AudioError, EngineUnavailable, SpeechEngine


def run(files: list[str], engine: SpeechEngine, as_json: bool, out: TextIO = sys.stdout) -> int:
    """Transcribe ``files`` in order. A file that fails gives an error line and the run goes on.

    Returns 0 when every file was transcribed (empty text counts as success), 1 if any failed.
    ``--json`` lines carry file, text, engine, model, language, sample_rate, audio_seconds,
    process_seconds, rtf, empty_reason, error and segments.
    """
    failed = 0
    bar = tqdm(files, desc="transcribing", unit="file", file=sys.stderr, disable=not files, leave=False)
    for f in bar:
        bar.set_postfix_str(Path(f).name, refresh=False)
        try:
            t = engine.transcribe(f)
        except (AudioError, EngineUnavailable, OSError) as exc:
            failed += 1
            if as_json:
                row = {"file": f, "text": None, "engine": engine.name, "audio_seconds": None, "rtf": None,
                       "empty_reason": None, "error": f"{type(exc).__name__}: {exc}"}  # fmt: skip
                print(json.dumps(row, ensure_ascii=False), file=out, flush=True)
            else:
                print(f"{f}\tERROR\t{type(exc).__name__}: {exc}", file=out, flush=True)
            continue
        if as_json:
            row = {"file": f, **t.to_dict(), "error": None}
            print(json.dumps(row, ensure_ascii=False), file=out, flush=True)
        else:
            shown = t.text if t.text else f"({t.empty_reason})"
            print(f"{f}\t{shown}", file=out, flush=True)
    bar.close()
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    from recordings.stt import ENGINES, make_engine

    ap = argparse.ArgumentParser(prog="python -m recordings.transcribe_cli", description=__doc__)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--engine", choices=ENGINES, default="whisper")
    ap.add_argument("--whisper-model-path", default=os.environ.get("HOTLINE_WHISPER_MODEL_PATH"))
    ap.add_argument("--vosk-model-path", default=os.environ.get("HOTLINE_VOSK_MODEL_PATH"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    try:
        engine = make_engine(a.engine, whisper_model_path=a.whisper_model_path,
                             vosk_model_path=a.vosk_model_path, threads=a.threads)  # fmt: skip
    except EngineUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return run(a.files, engine, a.json)


if __name__ == "__main__":
    raise SystemExit(main())
