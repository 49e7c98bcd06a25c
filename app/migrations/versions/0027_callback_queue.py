"""callbacks.queue: a queue call-back's queue with its skill, so that a retry waits for the same agents

Revision ID: 0027_callback_queue
Revises: 0026_login_throttle
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027_callback_queue"
down_revision: str | Sequence[str] | None = "0026_login_throttle"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("callbacks") as batch:
        batch.add_column(sa.Column("queue", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("callbacks") as batch:
        batch.drop_column("queue")
