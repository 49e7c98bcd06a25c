"""call_transfers: every transfer leg of a call (转接), blind or attended

Revision ID: 0018_call_transfers
Revises: 0017_telephony_live_state
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db import UTCDateTime

revision: str = "0018_call_transfers"
down_revision: str | Sequence[str] | None = "0017_telephony_live_state"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "call_transfers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("xfer_id", sa.String(length=32), nullable=False, unique=True),
        sa.Column("call_uniqueid", sa.String(length=64), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=128), nullable=False),
        sa.Column("to_platform", sa.String(length=32), nullable=True),
        sa.Column("from_user", sa.String(length=64), nullable=False),
        sa.Column("from_platform", sa.String(length=32), nullable=False),
        sa.Column("from_interface", sa.String(length=128), nullable=False),
        sa.Column("from_queue", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("case_number", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.String(length=255), nullable=True),
        sa.Column("answered_by", sa.String(length=128), nullable=True),
        sa.Column("consult_channel", sa.String(length=128), nullable=True),
        sa.Column("remote_uniqueid", sa.String(length=64), nullable=True),
        sa.Column("requested_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_call_transfers_call_uniqueid", "call_transfers", ["call_uniqueid"])
    op.create_index("ix_call_transfers_from_user", "call_transfers", ["from_user"])
    op.create_index("ix_call_transfers_remote_uniqueid", "call_transfers", ["remote_uniqueid"])


def downgrade() -> None:
    op.drop_index("ix_call_transfers_remote_uniqueid", "call_transfers")
    op.drop_index("ix_call_transfers_from_user", "call_transfers")
    op.drop_index("ix_call_transfers_call_uniqueid", "call_transfers")
    op.drop_table("call_transfers")
