"""The speech engine the settings name (recordings.stt; ``auto`` finds a model), and why it cannot run
when it cannot."""

from __future__ import annotations

from app.settings import Settings
from recordings.stt import DisabledEngine, EngineUnavailable, SpeechEngine, engine_from_settings
from recordings.worker import NO_MODEL


def engine_for(settings: Settings) -> SpeechEngine:
    """Build the configured engine (models load lazily). Raises EngineUnavailable."""
    return engine_from_settings(settings)


def engine_problem(settings: Settings) -> str | None:
    """Why the configured engine cannot transcribe (None when it can). Cheap: loads no model."""
    try:
        engine = engine_for(settings)
    except EngineUnavailable as e:
        return f"{NO_MODEL}: {e}"
    if isinstance(engine, DisabledEngine):
        return f"{NO_MODEL} ({engine.reason})"
    return None


def engine_or_problem(settings: Settings) -> tuple[SpeechEngine | None, str | None]:
    problem = engine_problem(settings)
    return (None, problem) if problem else (engine_for(settings), None)
