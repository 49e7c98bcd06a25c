"""Exchange tables: per (peer, case) links with both sequence counters, the durable outbox of what we
send, the inbox of what peers sent (applied, parked until its turn, or rejected), seen nonces,
refused requests (the audit of every request turned away), and where each peer's knowledge pulls stand."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow

PENDING, SENT, REJECTED, CANCELLED = "pending", "sent", "rejected", "cancelled"
APPLIED, PARKED, DUPLICATE = "applied", "parked", "duplicate"


class ExchangeLink(Base):
    """A case this deployment shares with one peer: the last sequence number sent to it and the last
    one applied from it."""

    __tablename__ = "exchange_links"
    __table_args__ = (UniqueConstraint("peer", "case_number", name="uq_exchange_links_peer_case"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    peer: Mapped[str] = mapped_column(String(32))
    case_number: Mapped[str] = mapped_column(String(32), index=True)
    out_seq: Mapped[int] = mapped_column(Integer, default=0)
    in_seq: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ExchangeOutbox(Base):
    __tablename__ = "exchange_outbox"
    __table_args__ = (Index("ix_exchange_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    peer: Mapped[str] = mapped_column(String(32), index=True)
    case_number: Mapped[str] = mapped_column(String(32))
    seq: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)  # the exact JSON sent (signed as bytes)
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[str | None] = mapped_column(
        String(16), nullable=True
    )  # the peer's answer: applied|parked|…
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ExchangeInbox(Base):
    __tablename__ = "exchange_inbox"
    __table_args__ = (Index("ix_exchange_inbox_case", "peer", "case_number", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    peer: Mapped[str] = mapped_column(String(32))
    case_number: Mapped[str] = mapped_column(String(32))
    seq: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10))  # applied | parked | duplicate | rejected
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ExchangeNonce(Base):
    __tablename__ = "exchange_nonces"
    __table_args__ = (UniqueConstraint("peer", "nonce", name="uq_exchange_nonces_peer_nonce"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    peer: Mapped[str] = mapped_column(String(32))
    nonce: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class ExchangeRefusal(Base):
    """One refused request: who (as far as we could tell), from where, why. Nothing else changed."""

    __tablename__ = "exchange_refusals"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    peer: Mapped[str | None] = mapped_column(String(32), nullable=True)
    key_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    code: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text)


class KnowledgePull(Base):
    """Where the pulls of one peer's published knowledge stand (app.exchange.knowledge_copies): the
    cursor the next pull continues from, and how the last one went."""

    __tablename__ = "exchange_knowledge_pulls"

    peer: Mapped[str] = mapped_column(String(32), primary_key=True)
    updated_since: Mapped[str | None] = mapped_column(String(64), nullable=True)
    after_id: Mapped[int] = mapped_column(Integer, default=0)
    copies: Mapped[int] = mapped_column(Integer, default=0)  # the peer's articles held here now
    pulled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # the last that ended well
    tried_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(255), nullable=True)
