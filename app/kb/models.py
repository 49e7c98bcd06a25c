"""Knowledge-base articles and their version history.

An article's current text is on :class:`KbArticle`; every save adds a :class:`KbArticleVersion` (the
history is never rewritten); a peer's article pulled over the exchange is a read-only copy (``origin``).
``platform`` None means the whole province (全省); otherwise the article
applies to one platform. The full-text index lives beside these tables in a database-specific form
(``kb_fts``: an FTS5 table on SQLite, a tsvector table on PostgreSQL; see app.kb.search)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow

DRAFT, PUBLISHED, RETIRED = "draft", "published", "retired"
STATUSES = (DRAFT, PUBLISHED, RETIRED)
STATUS_LABELS = {DRAFT: "草稿", PUBLISHED: "已发布", RETIRED: "已停用"}


class KbArticle(Base):
    __tablename__ = "kb_articles"
    __table_args__ = (
        Index("ix_kb_articles_status_review", "status", "review_due"),
        UniqueConstraint("origin", "origin_id", name="uq_kb_articles_origin"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    keywords: Mapped[str] = mapped_column(String(500), default="")
    category_code: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    platform: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)  # None: 全省
    owner_unit: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)  # None: 热线办公室
    status: Mapped[str] = mapped_column(String(12), default=DRAFT)
    version: Mapped[int] = mapped_column(Integer, default=1)
    review_due: Mapped[date | None] = mapped_column(Date, nullable=True)
    review_reminded_for: Mapped[date | None] = mapped_column(Date, nullable=True)
    cited: Mapped[int] = mapped_column(Integer, default=0)  # cases answered directly citing it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_by: Mapped[str] = mapped_column(String(64), default="")
    # a copy of a peer's published article (app.exchange.knowledge_copies): the peer's name and its id
    # there; read-only here, kept up to date by the pulls. None: written here.
    origin: Mapped[str | None] = mapped_column(String(32), nullable=True)
    origin_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class KbArticleVersion(Base):
    """One saved version of an article (immutable history)."""

    __tablename__ = "kb_article_versions"
    __table_args__ = (
        UniqueConstraint("article_id", "version", name="uq_kb_article_versions_article_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    keywords: Mapped[str] = mapped_column(String(500), default="")
    category_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    status: Mapped[str] = mapped_column(String(12))
    edited_by: Mapped[str] = mapped_column(String(64))
    edited_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    note: Mapped[str | None] = mapped_column(String(500), nullable=True)
