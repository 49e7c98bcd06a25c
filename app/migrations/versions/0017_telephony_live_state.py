"""telephony: the AMI leader's live queue/agent state per Asterisk server, read by the other processes

Revision ID: 0017_telephony_live_state
Revises: 0016_intake_attachments
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db import UTCDateTime

revision: str = "0017_telephony_live_state"
down_revision: str | Sequence[str] | None = "0016_intake_attachments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "telephony_live_state",
        sa.Column("server", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("server", name=op.f("pk_telephony_live_state")),
    )


def downgrade() -> None:
    op.drop_table("telephony_live_state")
