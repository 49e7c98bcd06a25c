from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow

# callback status values
QUEUED = "queued"  # a queue call-back (排队回拨): the placeholder waits in the queue at the caller's place
ORIGINATING = "originating"  # agent's phone is being rung
DIALING = "dialing"  # agent answered; the citizen is being called
CONNECTED = "connected"  # the citizen answered
FAILED = "failed"  # agent's phone did not answer, or the citizen did not
DONE = "done"  # the call-back call has ended after being connected
RETRY = "retry"  # a queue call-back the citizen did not answer: called again at next_attempt_at
GAVE_UP = "gave_up"  # ... and still not answered after the configured retries (已放弃)


CALLER = "caller"  # requested_by of a queue call-back: the caller asked for it in the queue


class Callback(Base):
    """A call-back (回拨) of an abandoned call, originated from an agent's phone to the citizen."""

    __tablename__ = "callbacks"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(64), unique=True, index=True)  # Linkedid of every leg
    call_uniqueid: Mapped[str] = mapped_column(String(64), index=True)  # the abandoned call
    number: Mapped[str] = mapped_column(String(64))
    platform: Mapped[str | None] = mapped_column(String(32), nullable=True)
    agent: Mapped[str] = mapped_column(String(64))
    interface: Mapped[str] = mapped_column(String(128))
    requested_by: Mapped[str] = mapped_column(String(64))  # a user, or CALLER: the caller pressed the key
    status: Mapped[str] = mapped_column(String(16), default=ORIGINATING)
    detail: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=1, server_default="1")  # calls to the citizen so far
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)
    # a queue call-back's queue with its skill (q-dali-skill-water): each retry's placeholder waits there
    # again, for the same agents (the call row keeps the platform queue the reports count by)
    queue: Mapped[str | None] = mapped_column(String(64), nullable=True)
