"""calls and cases carry their source hotline (并号/分线) and the number dialled

Revision ID: 0010_source_hotline
Revises: 0009_case_handovers

A merged department number (12315, 12369, an old fixed line) reaches 12345 agents; the call keeps
the dialled number (did) and the source hotline the routing configuration found for it, and the case
taken on the call keeps the source hotline, so the wallboard and reports can filter by it. Rows from
before this revision are the unified 12345 (their number was not recorded).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_source_hotline"
down_revision: str | Sequence[str] | None = "0009_case_handovers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as b:
        b.add_column(sa.Column("source_hotline", sa.String(length=16), nullable=True))
        b.add_column(sa.Column("did", sa.String(length=32), nullable=True))
        b.create_index("ix_calls_source_hotline", ["source_hotline"])
    with op.batch_alter_table("cases") as b:
        b.add_column(sa.Column("source_hotline", sa.String(length=16), nullable=True))
        b.create_index("ix_cases_source_hotline", ["source_hotline"])
    op.execute("UPDATE calls SET source_hotline = '12345' WHERE direction = 'in'")
    op.execute("UPDATE cases SET source_hotline = '12345' WHERE channel IN ('phone', 'voicemail')")


def downgrade() -> None:
    with op.batch_alter_table("cases") as b:
        b.drop_index("ix_cases_source_hotline")
        b.drop_column("source_hotline")
    with op.batch_alter_table("calls") as b:
        b.drop_index("ix_calls_source_hotline")
        b.drop_column("did")
        b.drop_column("source_hotline")
