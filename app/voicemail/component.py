"""The running transcription worker's slot, and what the rest of the domain asks of it."""

from __future__ import annotations

from app.runtime import Key, Runtime
from app.voicemail.engine import engine_problem
from recordings.worker import TranscriptionWorker

TRANSCRIPTION: Key[TranscriptionWorker] = Key("transcription")


def no_model(rt: Runtime) -> str | None:
    """Why messages cannot be transcribed now (the running worker knows best), or None."""
    worker = rt.get(TRANSCRIPTION)
    return worker.problem if worker is not None else engine_problem(rt.settings)


def kick(rt: Runtime) -> None:
    """A job was committed: wake the worker (if this process runs one)."""
    worker = rt.get(TRANSCRIPTION)
    if worker is not None:
        worker.kick()
