"""The small interfaces the AGI routes need from the rest of the service, as typing.Protocols.

This edge package imports only callflow, ivr, the stdlib and third-party libraries; app implements
these ports and hands one ``AgiPorts`` to ``routes.bind`` at its composition root (app.wiring).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypedDict

from callflow import HotlineConfig


class DecisionRecord(TypedDict):
    """What the `incoming` route decided for one call, written after the reply."""

    uniqueid: str
    linkedid: str | None
    channel: str | None
    caller: str
    caller_name: str | None
    trunk: str | None
    decision: dict[str, Any]
    server: str
    at: datetime


class DecisionSink(Protocol):
    def record(self, item: DecisionRecord) -> None:
        """Take the decision for writing later, in order with the call's AMI events. Never waits."""


class VoicemailStore(Protocol):
    @property
    def max_record_s(self) -> float:
        """The longest message to record (settings.voicemail_max_s)."""

    def recording_path(self, uniqueid: str) -> Path:
        """Where Asterisk records this call's message (absolute: Asterisk writes, the backend reads);
        its directory exists and is private to the service."""

    def has_platform(self, code: str) -> bool: ...

    async def store(
        self, path: Path, *, caller: str, platform: str, prefecture: str | None, mailbox: str | None,
        uniqueid: str,
    ) -> tuple[int, str]:  # fmt: skip
        """Commit recording + case + transcription job; returns (recording id, case number)."""


class SurveyCalls(Protocol):
    def is_attempt(self, channel_id: str) -> bool:
        """True when ``channel_id`` names a survey attempt and the survey scheduler is running."""

    async def answered(self, channel_id: str) -> None: ...

    async def finish(
        self, channel_id: str, outcome: str, *, rating: int | None, digits: str | None, detail: str
    ) -> None:
        """Report the attempt's outcome once the call is over (the outbound slot stays taken until
        Asterisk's Hangup of the call)."""


class QueueCallbackRequests(Protocol):
    async def request(self, uniqueid: str, queue: str, position: str, server: str) -> bool:
        """Record the caller's call-back request (committed) and leave the placeholder in ``queue`` at
        ``position``; False when it was not taken (the caller is told and keeps waiting)."""


class AgiPorts(Protocol):
    """Everything the AGI routes use: read once per request, never a database session."""

    @property
    def decisions(self) -> DecisionSink: ...

    @property
    def voicemail(self) -> VoicemailStore: ...

    @property
    def surveys(self) -> SurveyCalls: ...

    @property
    def queue_callbacks(self) -> QueueCallbackRequests: ...

    @property
    def config(self) -> HotlineConfig:
        """The routing configuration in force (the calendar can be reloaded while running)."""

    def queue_agents(self) -> Mapping[str, int] | None:
        """Agents routing counts per queue (wrap-up included) from live AMI state; None when AMI is not
        running."""

    def queue_waiting(self) -> Mapping[str, int] | None:
        """Callers waiting per queue from live AMI state; None when AMI is not running."""
