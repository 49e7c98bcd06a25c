from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class AgentSession(Base):
    """What an agent asked for (queues, pause): re-applied to Asterisk after it restarts, because
    dynamic queue members are not persistent there. What the agent *is* comes from Asterisk's events."""

    __tablename__ = "agent_sessions"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    interface: Mapped[str] = mapped_column(String(128))
    platform: Mapped[str] = mapped_column(String(32))
    queues: Mapped[str] = mapped_column(String(512), default="")  # comma-separated
    logged_in: Mapped[bool] = mapped_column(Boolean, default=False)
    pause_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def queue_list(self) -> list[str]:
        return [q for q in self.queues.split(",") if q]
