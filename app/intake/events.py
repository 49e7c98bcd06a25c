"""The intake domain's events: THE one place their topics and payloads are built.

- ``intake.received``  a citizen's message arrived on a channel and became a case or joined one
  (no personal data in the payload: channel, outcome and case number only)
"""

from __future__ import annotations

from app.events import Event
from app.intake.models import IntakeMessage

RECEIVED = "intake.received"
TOPICS = (RECEIVED,)


def received(msg: IntakeMessage, number: str | None) -> Event:
    return Event(RECEIVED, {"channel": msg.channel, "outcome": msg.outcome, "number": number, "id": msg.id})
