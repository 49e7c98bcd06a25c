"""``hotline transcribe`` body: transcribe files with one engine, print text or JSON lines.

``hotline transcribe`` (app/cli.py) is the one entry point: it builds the engine from the settings
(``auto``, the model paths, ``stt_max_audio_s``) and exits non-zero with a how-to when there is none.
"""

from __future__ import annotations

import json
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
