"""One outbox for every notification (SMS to citizens, notices to units): nothing is lost when a
gateway is down — the row stays pending with attempts/last_error and is retried.

The status says what really happened (docs/adr/honest-outbox-states.md):

- ``pending``   queued here; not yet handed to any transport (or waiting for a retry, or for a gateway
  to be configured at all: then it waits and /health says so);
- ``submitted`` a gateway accepted it (``gateway_ref`` names it there); delivery not yet known;
- ``delivered`` the gateway's delivery report says the handset has it (``delivered_at``);
- ``failed``    the gateway refused it, its delivery report says it failed, or every retry failed;
- ``logged``    a channel with no transport of its own (notices to units and the office, which they
  read in their work lists) was written to the service log.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow

PENDING, SUBMITTED, DELIVERED, FAILED, LOGGED = "pending", "submitted", "delivered", "failed", "logged"
STATES = (PENDING, SUBMITTED, DELIVERED, FAILED, LOGGED)


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # sms | unit | office | email
    recipient: Mapped[str] = mapped_column(String(255))  # phone number, unit code or e-mail address
    body: Mapped[str] = mapped_column(Text)
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), nullable=True, index=True
    )
    kind: Mapped[str] = mapped_column(String(24), default="notice")  # notice | reminder | feedback …
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    sender: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # handed to the transport
    gateway_ref: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    subject: Mapped[str | None] = mapped_column(String(255), nullable=True)  # e-mail only
