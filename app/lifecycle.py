"""Background components started with the service, in order; each is an async context manager
taking the Runtime. A new component (a worker, a scheduler) adds one line here."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from app.cases.scheduler import case_scheduler
from app.realtime.lifecycle import realtime
from app.surveys.scheduler import survey_scheduler
from app.telephony.lifecycle import telephony
from recordings.worker import transcription

STARTERS: list[Callable[[Any], AbstractAsyncContextManager[None]]] = [
    telephony,
    case_scheduler,
    realtime,
    survey_scheduler,
    transcription,
]
