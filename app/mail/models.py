"""Citizens' mail that was refused (too large, too many parts, nested too deep, no sender, or failing
again and again): kept, never silently dropped. The row says why; the message itself (or, when it is
too large to fetch, its header) is kept under var/mail/refused, and stays in the mailbox as well
(only flagged \\Seen). Unique per mailbox and message, so a mailbox read twice keeps it once. An
administrator settles each one on the 拒收邮件 page (app.mail.review): taken in after all (its case's
number), or not taken in, with the reason why."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow

REFUSED, TAKEN, DISMISSED = "refused", "taken", "dismissed"
STATUS_LABELS = {REFUSED: "待处理", TAKEN: "已受理", DISMISSED: "不予受理"}


class RefusedMail(Base):
    __tablename__ = "mail_refused"
    __table_args__ = (UniqueConstraint("mailbox", "message_key", name="uq_mail_refused_mailbox_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(32), index=True)
    mailbox: Mapped[str] = mapped_column(String(255))  # user@host:port/folder (no secret)
    message_key: Mapped[str] = mapped_column(String(255))  # Message-ID, else sha256 of what was read
    sender_masked: Mapped[str] = mapped_column(String(255))  # z***@example.com: never the address in clear
    sender_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)  # finds one sender's mail
    subject: Mapped[str] = mapped_column(String(255), default="")
    reason: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)  # bytes, as the server reported them
    kept: Mapped[str] = mapped_column(String(16))  # message | header (too large: only its header was read)
    path: Mapped[str] = mapped_column(String(1024))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    status: Mapped[str] = mapped_column(String(16), default=REFUSED, server_default=REFUSED)
    case_number: Mapped[str | None] = mapped_column(String(32), nullable=True)  # taken in after all
    resolved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    note: Mapped[str | None] = mapped_column(String(500), nullable=True)
