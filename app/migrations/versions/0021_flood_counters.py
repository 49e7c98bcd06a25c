"""flood: the citizens' and webhooks' flood limits counted in the database (shared by the processes)

Revision ID: 0021_flood_counters
Revises: 0020_call_recordings
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_flood_counters"
down_revision: str | Sequence[str] | None = "0020_call_recordings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "flood_counters",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("expires", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", "bucket", name=op.f("pk_flood_counters")),
    )
    op.create_index(op.f("ix_flood_counters_expires"), "flood_counters", ["expires"])


def downgrade() -> None:
    op.drop_index(op.f("ix_flood_counters_expires"), table_name="flood_counters")
    op.drop_table("flood_counters")
