"""calls.callback_of: a queue call-back's call row names the call it calls back (排队回拨)

Revision ID: 0024_call_callback_of
Revises: 0023_report_rollup
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024_call_callback_of"
down_revision: str | Sequence[str] | None = "0023_report_rollup"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("callback_of", sa.String(length=64), nullable=True))
        batch.create_index("ix_calls_callback_of", ["callback_of"])


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_index("ix_calls_callback_of")
        batch.drop_column("callback_of")
