"""login_throttle: failed logins counted in the database, so every worker process sees them

Revision ID: 0026_login_throttle
Revises: 0025_callback_retry
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026_login_throttle"
down_revision: str | Sequence[str] | None = "0025_callback_retry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.Float(), nullable=False),
        sa.Column("locked_until", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
    )
    op.create_index(op.f("ix_login_throttle_locked_until"), "login_throttle", ["locked_until"])


def downgrade() -> None:
    op.drop_index(op.f("ix_login_throttle_locked_until"), table_name="login_throttle")
    op.drop_table("login_throttle")
