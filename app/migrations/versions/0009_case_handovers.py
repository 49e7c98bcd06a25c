"""cases: hand-overs between platforms (移交 prefecture ↔ province), the sender keeps seeing the case

Revision ID: 0009_case_handovers
Revises: 0008_merge_heads
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db import UTCDateTime

revision: str = "0009_case_handovers"
down_revision: str | Sequence[str] | None = "0008_merge_heads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_handovers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("from_platform", sa.String(32), nullable=False),
        sa.Column("to_platform", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("sent_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_by", sa.String(64), nullable=False),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
    )
    op.create_index("ix_case_handovers_case_id", "case_handovers", ["case_id"])
    op.create_index("ix_case_handovers_to_platform", "case_handovers", ["to_platform"])
    op.create_index("ix_case_handovers_from", "case_handovers", ["from_platform", "case_id"])


def downgrade() -> None:
    op.drop_table("case_handovers")
