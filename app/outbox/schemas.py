from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class OutboxOut(BaseModel):
    id: int
    channel: str
    recipient: str
    body: str
    case_id: int | None
    kind: str
    status: str
    attempts: int
    last_error: str | None
    sender: str | None
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    gateway_ref: str | None = None
    delivered_at: datetime | None = None

    model_config = {"from_attributes": True}
