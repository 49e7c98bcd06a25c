"""The real parts the suite needs, and what happens when one is missing: a FAILURE with a clear
message, never a silent skip. A developer opts out locally, explicitly and per resource:

    HOTLINE_TEST_ALLOW_SKIP=postgres,models pytest ...      (or: pytest --allow-skip=postgres,models)
    HOTLINE_TEST_ALLOW_SKIP=all pytest ...

`make test` (and so CI) runs pytest with --require-all, which overrides any opt-out from the
environment or the command line. Tests declare what they need with ``@pytest.mark.needs("audio")``
(checked before the test starts) or call ``require("chromium")`` where the need is found at run time.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import pytest

ENV = "HOTLINE_TEST_ALLOW_SKIP"
INSTALL = "run scripts/install-system-deps.sh (or `make setup`)"


def _pg() -> str | None:
    from tests.conftest import PG_HOST, PG_PORT

    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=2):
            return None
    except OSError as exc:
        return (
            f"PostgreSQL is not reachable on {PG_HOST}:{PG_PORT} ({exc}); start it with "
            "scripts/start-services.sh (trust auth for 127.0.0.1, database 'test')"
        )


def _whisper() -> str | None:
    from recordings.stt.locate import find_whisper_model, whisper_model_candidates

    if find_whisper_model() is not None:
        return None
    looked = ", ".join(map(str, whisper_model_candidates()))
    return f"the shared Whisper model (faster-whisper-base: model.bin, config.json) is missing; looked in {looked}"


def _vosk() -> str | None:
    from recordings.stt.locate import find_vosk_model, vosk_model_candidates

    if find_vosk_model() is not None:
        return None
    looked = ", ".join(map(str, vosk_model_candidates()))
    return f"the shared Vosk Mandarin model (vosk-model-small-cn) is missing; looked in {looked}"


def _models() -> str | None:
    missing = [m for m in (_whisper(), _vosk()) if m]
    return "; ".join(missing) or None


def _audio() -> str | None:
    from recordings.stt.locate import find_zh_dev, shared_dirs

    if find_zh_dev() is not None:
        return None
    looked = ", ".join(str(d / "audio" / "zh-dev") for d in shared_dirs())
    return f"the shared Mandarin dev clips (audio/zh-dev/transcripts.tsv) are missing; looked in {looked}"


def _chromium() -> str | None:
    from tests.browser import CHROMIUM

    if shutil.which(CHROMIUM) or os.path.exists(CHROMIUM):
        return None
    return f"Chromium is not installed at {CHROMIUM} (HOTLINE_CHROMIUM): {INSTALL}"


def _smtpd() -> str | None:
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        return "aiosmtpd (the test SMTP server, a dev dependency) is not installed: make venv"
    return None
def _dovecot() -> str | None:
    from tests.dovecot import DOVECOT

    if os.path.exists(DOVECOT):
        return None
    return f"Dovecot is not installed ({DOVECOT} missing; Debian dovecot-imapd): {INSTALL}"


def _kannel() -> str | None:
    from tests.kannel import BEARERBOX, FAKESMSC, SMSBOX

    missing = [p for p in (BEARERBOX, SMSBOX, FAKESMSC) if not os.path.exists(p)]
    return f"Kannel is not installed ({', '.join(missing)} missing; Debian kannel, kannel-extras): {INSTALL}" if missing else None


def _program(*names: str) -> Callable[[], str | None]:
    def check() -> str | None:
        missing = [n for n in names if not shutil.which(n)]
        return f"{', '.join(missing)} not installed: {INSTALL}" if missing else None

    return check


@dataclass(frozen=True)
class Resource:
    name: str
    check: Callable[[], str | None]  # None when present, else what is missing and how to get it


RESOURCES: dict[str, Resource] = {
    r.name: r
    for r in (
        Resource("postgres", _pg),
        Resource("models", _models),
        Resource("audio", _audio),
        Resource("chromium", _chromium),
        Resource("baresip", _program("baresip")),
        Resource("asterisk", _program("asterisk")),
        Resource("tools", _program("sox", "ffmpeg", "espeak-ng")),
        Resource("smtpd", _smtpd),
        Resource("kannel", _kannel),
        Resource("dovecot", _dovecot),
    )
}

#: Set by tests/conftest.py from --allow-skip / HOTLINE_TEST_ALLOW_SKIP / --require-all.
_allowed: set[str] = set()


def parse_allowed(text: str) -> set[str]:
    names = {n.strip() for n in text.split(",") if n.strip()}
    if "all" in names:
        return set(RESOURCES)
    unknown = names - set(RESOURCES)
    if unknown:
        raise pytest.UsageError(
            f"{ENV}/--allow-skip: unknown resource(s) {sorted(unknown)}; known: {', '.join(RESOURCES)}, all"
        )
    return names


def configure(allowed: set[str]) -> None:
    _allowed.clear()
    _allowed.update(allowed)


def allowed() -> set[str]:
    return set(_allowed)


@cache
def problem(name: str) -> str | None:
    """What is missing for ``name`` (None when it is there). Checked once per session."""
    return RESOURCES[name].check()


def require(*names: str) -> None:
    """Fail the current test (skip it only when the developer opted out of that resource)."""
    for name in names:
        if name not in RESOURCES:
            raise ValueError(f"unknown test resource {name!r}; known: {', '.join(RESOURCES)}")
        msg = problem(name)
        if msg is None:
            continue
        if name in _allowed:
            pytest.skip(f"[{name}] {msg} (skipped: opted out with {ENV}/--allow-skip)")
        pytest.fail(
            f"[{name}] {msg}. This is a failure, not a skip; to skip such tests locally set "
            f"{ENV}={name} (never in CI: make test passes --require-all)",
            pytrace=False,
        )


def summary() -> str:
    parts = [f"{n}={'ok' if problem(n) is None else 'MISSING'}" for n in RESOURCES]
    opt = ",".join(sorted(_allowed)) or "none"
    return f"hotline test resources: {' '.join(parts)}; opted out: {opt}"
