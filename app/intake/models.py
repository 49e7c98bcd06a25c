"""Every inbound message from a citizen, kept as received: the record that nothing was lost, the key
that makes a re-delivered message (an SMS gateway's retry, a mailbox read twice, a webhook resent)
count once, and the citizen's address on that channel (for the replies)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow

CREATED, JOINED, REFUSED = "created", "joined", "refused"


class IntakeMessage(Base):
    __tablename__ = "intake_messages"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_intake_messages_channel_external"),
        Index("ix_intake_messages_sender", "channel", "sender"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # sms | email | web | wechat | weibo | app | open311
    external_id: Mapped[str] = mapped_column(String(255))  # the channel's message id (idempotency)
    sender: Mapped[str] = mapped_column(String(255))  # phone, e-mail address, WeChat openid, app user …
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    subject: Mapped[str | None] = mapped_column(String(255), nullable=True)
    text: Mapped[str] = mapped_column(Text)
    place: Mapped[str | None] = mapped_column(String(255), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), nullable=True, index=True
    )
    outcome: Mapped[str] = mapped_column(String(16))  # created | joined | refused
    note: Mapped[str | None] = mapped_column(Text, nullable=True)  # why joined / refused; what was cleaned


class IntakeAttachment(Base):
    """A file that came with a message (a web form's photo, later a mail's attachment)."""

    __tablename__ = "intake_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    intake_id: Mapped[int] = mapped_column(ForeignKey("intake_messages.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), nullable=True, index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
