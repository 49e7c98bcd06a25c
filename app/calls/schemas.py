from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class CallOut(BaseModel):
    uniqueid: str
    linkedid: str | None
    server: str
    direction: str
    caller: str
    caller_e164: str | None
    caller_kind: str | None
    prefecture: str | None
    platform: str | None
    source_hotline: str | None = None
    did: str | None = None
    route: str | None
    reason: str | None
    queue: str | None
    agent: str | None
    outcome: str
    hangup_cause: str | None
    agi_ms: float | None
    hold_s: int | None
    talk_s: int | None
    arrived_at: datetime
    routed_at: datetime | None
    queued_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    callback_of: str | None = None  # a queue call-back: the call whose caller asked for it

    model_config = {"from_attributes": True}


class CallList(BaseModel):
    items: list[CallOut]
    total: int
