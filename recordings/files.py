"""Citizens' voice stays private to the service's user: directories 0700, audio files 0600."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def private_dirs(leaf: Path, root: Path) -> None:
    """Creates leaf (under root) and makes root and every level down to leaf mode 0700."""
    leaf.mkdir(parents=True, exist_ok=True, mode=0o700)
    d = leaf
    while True:
        with contextlib.suppress(OSError):
            d.chmod(0o700)
        if d == root or d.parent == d or root not in d.parents:
            break
        d = d.parent


def private_file(path: Path) -> None:
    try:
        path.chmod(0o600)
    except OSError as e:  # e.g. written by an Asterisk on another host as another user
        log.warning("cannot make %s private: %s", path.name, e)
