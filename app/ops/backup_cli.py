"""`hotline backup` / `hotline restore` on the command line: a progress bar on stderr, a clear
message and exit code 1 on any refusal (nothing changed), never a traceback for an expected error."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

from app.ops.backup import BackupError, backup, restore
from app.settings import Settings


def _bar(desc: str) -> tuple[tqdm, Callable[[int, int], None]]:
    bar = tqdm(total=0, unit="B", unit_scale=True, desc=desc, file=sys.stderr, disable=None)

    def progress(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    return bar, progress


def run_backup(args: argparse.Namespace, settings: Settings) -> int:
    bar, progress = _bar("backup")
    try:
        res = backup(settings, Path(args.out), progress=progress)
    except BackupError as e:
        bar.close()
        print(f"backup failed: {e}", file=sys.stderr)
        return 1
    bar.close()
    counts = ", ".join(f"{k} {v}" for k, v in res.manifest["counts"].items())
    n_rec = sum(1 for k in res.manifest["files"] if k.startswith("recordings/"))
    print(f"backup written: {res.archive} ({res.manifest['database']}; {counts}; {n_rec} recording files)")
    return 0


def run_restore(args: argparse.Namespace, settings: Settings) -> int:
    bar, progress = _bar("restore")
    try:
        manifest = restore(settings, Path(args.archive), progress=progress)
    except BackupError as e:
        bar.close()
        print(f"restore refused: {e}", file=sys.stderr)
        return 1
    bar.close()
    counts = ", ".join(f"{k} {v}" for k, v in manifest["counts"].items())
    print(
        f"restored backup of {manifest['created_at']} ({counts}) into {settings.database_url.split('@')[-1]}"
    )
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    b = sub.add_parser("backup", help="database + recordings into one archive with a manifest and checksums")
    b.add_argument("out", help="archive file to write, or a directory for a timestamped one")
    b.set_defaults(fn=run_backup)
    r = sub.add_parser("restore", help="restore an archive into this EMPTY instance (service stopped)")
    r.add_argument("archive")
    r.set_defaults(fn=run_restore)
