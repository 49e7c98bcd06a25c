"""callbacks.attempts, callbacks.next_attempt_at: an unanswered queue call-back is retried (排队回拨重拨)

Revision ID: 0025_callback_retry
Revises: 0024_call_callback_of
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0025_callback_retry"
down_revision: str | Sequence[str] | None = "0024_call_callback_of"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("callbacks") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("next_attempt_at", app.db.UTCDateTime(timezone=True), nullable=True))
        batch.create_index("ix_callbacks_next_attempt_at", ["next_attempt_at"])


def downgrade() -> None:
    with op.batch_alter_table("callbacks") as batch:
        batch.drop_index("ix_callbacks_next_attempt_at")
        batch.drop_column("next_attempt_at")
        batch.drop_column("attempts")
