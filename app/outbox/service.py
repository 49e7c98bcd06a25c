"""Outbox: enqueue inside the business transaction, deliver later through pluggable senders.

A sender (:class:`Sender`) has ``name`` and ``async send(message) -> Submission``: it returns what the
transport did with the message (accepted it: ``submitted`` with its reference there; or ``logged`` for
a channel without a transport), raises :class:`Rejected` when the transport refuses the message for
good, and raises anything else when it could not be reached (the row stays pending, is retried after
``retry_s`` (growing), and fails only after ``max_attempts``). A channel with no sender configured is
not attempted at all: its messages wait, untouched, and /health says so. Delivery reports arrive later
(``apply_report``). No commits here: app.outbox.worker is the boundary that hands messages over,
in short transactions of its own, never holding one while a gateway answers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.outbox.models import DELIVERED, FAILED, LOGGED, PENDING, SUBMITTED, OutboxMessage
from app.runtime import Key, Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submission:
    status: str  # SUBMITTED | DELIVERED | LOGGED
    ref: str | None = None  # the transport's reference (for its delivery reports)


@dataclass(frozen=True)
class Outgoing:
    """What a sender gets: a copy of the row, so no database transaction is held while it sends."""

    id: int
    channel: str
    recipient: str
    body: str
    subject: str | None = None
    case_id: int | None = None


class Rejected(Exception):
    """The transport refused this message for good (e.g. an invalid number): it fails at once."""


@runtime_checkable
class Sender(Protocol):
    name: str

    async def send(self, message: Outgoing) -> Submission:
        """Hand the message to the transport, or raise (Rejected: for good; anything else: retry)."""


SmsGateway = Sender  # the former name


class LogSender:
    """For channels without a transport of their own (notices to units and the office: they read them
    in their work lists): writes the message to the log and says so (``logged``), never ``sent``."""

    name = "log"

    async def send(self, message: Outgoing) -> Submission:
        log.info("outbox %s → %s: %s", message.channel, message.recipient, message.body)
        return Submission(LOGGED)


def enqueue(
    session: AsyncSession,
    *,
    channel: str,
    recipient: str,
    body: str,
    case_id: int | None = None,
    kind: str = "notice",
    subject: str | None = None,
    now: datetime | None = None,
) -> OutboxMessage:
    now = now or utcnow()
    msg = OutboxMessage(
        channel=channel,
        recipient=recipient,
        body=body,
        case_id=case_id,
        kind=kind,
        subject=subject,
        status=PENDING,
        attempts=0,
        created_at=now,
        next_attempt_at=now,
    )
    session.add(msg)
    return msg


async def apply_report(
    session: AsyncSession, message_id: int, delivered: bool | None, detail: str, now: datetime | None = None
) -> OutboxMessage | None:
    """A delivery report for one handed-over message: delivered (True), failed (False), or only the
    gateway's intermediate acknowledgement (None: nothing changes). A report may overtake the record
    of the hand-over itself (the row is then still pending); it never moves a message backwards
    (a late 'accepted by the SMSC' after 'delivered' changes nothing). One conditional UPDATE each."""
    now = now or utcnow()
    live = OutboxMessage.status.in_((PENDING, SUBMITTED))
    if delivered is True:
        values: dict[str, object] = {"status": DELIVERED, "delivered_at": now, "last_error": None}
    elif delivered is False:
        values = {"status": FAILED, "last_error": f"delivery report: {detail}"[:1000]}
    else:
        values = {}
    if values:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, live, OutboxMessage.attempts > 0)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    return await session.get(OutboxMessage, message_id, populate_existing=True)


async def waiting_without_sender(session: AsyncSession, senders: dict[str, Sender]) -> dict[str, int]:
    """Pending messages per channel that no configured sender serves (they wait for one)."""
    if "*" in senders:
        return {}
    rows = await session.execute(
        select(OutboxMessage.channel, func.count())
        .where(OutboxMessage.status == PENDING, OutboxMessage.channel.not_in(list(senders)))
        .group_by(OutboxMessage.channel)
    )
    return {ch: n for ch, n in rows.all()}


def default_senders() -> dict[str, Sender]:
    """Units and the office read their notices in their work lists; SMS and e-mail need a gateway
    (app.sms, app.mail register theirs when configured), so without one they wait."""
    return {"unit": LogSender(), "office": LogSender()}


OUTBOX_SENDERS: Key[dict[str, Sender]] = Key("outbox_senders")


def senders_of(runtime: Runtime) -> dict[str, Sender]:
    senders = runtime.get(OUTBOX_SENDERS)
    if senders is None:
        senders = default_senders()
        if runtime.settings.smtp_host:  # e-mail goes out by SMTP; without a server it waits, visibly
            from app.outbox.email import CHANNEL, SmtpSender

            senders[CHANNEL] = SmtpSender(runtime.settings)
        runtime.put(OUTBOX_SENDERS, senders)
    return senders
