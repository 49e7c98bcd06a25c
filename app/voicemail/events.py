"""The voicemail domain's events, built here only (published by the boundary after commit). A
message's case.created comes from app.cases.events."""

from __future__ import annotations

from app.cases.models import Case
from app.events import Event
from app.voicemail.models import Recording


def new_message(rec: Recording, case: Case) -> Event:
    """The inbox has a new entry."""
    return Event("voicemail.new", {"recording_id": rec.id, "case": case.number, "platform": rec.platform})


def transcribed(recording_id: int, status: str, platform: str | None, seconds: float, engine: str) -> Event:
    """A message was transcribed (status done / empty / failed), in ``seconds`` by ``engine``."""
    return Event("voicemail.transcribed", {
        "recording_id": recording_id, "status": status, "platform": platform,
        "seconds": round(seconds, 3), "engine": engine,
    })  # fmt: skip
