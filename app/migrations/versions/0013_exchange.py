"""exchange: links, outbox, inbox, nonces and refused requests of the case exchange between deployments

Revision ID: 0013_exchange
Revises: 0012_reports
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db import UTCDateTime

revision: str = "0013_exchange"
down_revision: str | Sequence[str] | None = "0012_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "exchange_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("peer", sa.String(32), nullable=False),
        sa.Column("case_number", sa.String(32), nullable=False),
        sa.Column("out_seq", sa.Integer(), nullable=False),
        sa.Column("in_seq", sa.Integer(), nullable=False),
        _at("created_at"),
        sa.UniqueConstraint("peer", "case_number", name="uq_exchange_links_peer_case"),
    )
    op.create_index("ix_exchange_links_case_number", "exchange_links", ["case_number"])
    op.create_table(
        "exchange_outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("message_id", sa.String(64), nullable=False, unique=True),
        sa.Column("peer", sa.String(32), nullable=False),
        sa.Column("case_number", sa.String(32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("result", sa.String(16), nullable=True),
        _at("created_at"),
        _at("next_attempt_at"),
        _at("claimed_until", True),
        _at("sent_at", True),
    )
    op.create_index("ix_exchange_outbox_due", "exchange_outbox", ["status", "next_attempt_at"])
    op.create_index("ix_exchange_outbox_peer", "exchange_outbox", ["peer"])
    op.create_table(
        "exchange_inbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("message_id", sa.String(64), nullable=False, unique=True),
        sa.Column("peer", sa.String(32), nullable=False),
        sa.Column("case_number", sa.String(32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        _at("received_at"),
        _at("applied_at", True),
    )
    op.create_index("ix_exchange_inbox_case", "exchange_inbox", ["peer", "case_number", "state"])
    op.create_table(
        "exchange_nonces",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("peer", sa.String(32), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        _at("seen_at"),
        sa.UniqueConstraint("peer", "nonce", name="uq_exchange_nonces_peer_nonce"),
    )
    op.create_index("ix_exchange_nonces_seen_at", "exchange_nonces", ["seen_at"])
    op.create_table(
        "exchange_refusals",
        sa.Column("id", sa.Integer(), primary_key=True),
        _at("at"),
        sa.Column("peer", sa.String(32), nullable=True),
        sa.Column("key_id", sa.String(64), nullable=True),
        sa.Column("address", sa.String(64), nullable=True),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
    )
    op.create_index("ix_exchange_refusals_at", "exchange_refusals", ["at"])


def downgrade() -> None:
    for t in ("exchange_refusals", "exchange_nonces", "exchange_inbox", "exchange_outbox", "exchange_links"):
        op.drop_table(t)
