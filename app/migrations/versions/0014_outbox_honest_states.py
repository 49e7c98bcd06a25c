"""outbox: honest states (pending, submitted, delivered, failed, logged), the gateway's reference,
delivery time, e-mail subject; rows once marked 'sent' by the log-only sender become 'logged'

Revision ID: 0014_outbox_states
Revises: 0013_exchange
"""

from collections.abc import Sequence

import sqlalchemy as sa

import app.db
from alembic import op

revision: str = "0014_outbox_states"
down_revision: str | Sequence[str] | None = "0013_exchange"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("status", type_=sa.String(length=16), existing_type=sa.String(length=8))
        batch.alter_column("recipient", type_=sa.String(length=255), existing_type=sa.String(length=64))
        batch.add_column(sa.Column("gateway_ref", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("delivered_at", app.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("subject", sa.String(length=255), nullable=True))
        batch.create_index("ix_outbox_gateway_ref", ["gateway_ref"])
    # nothing was ever handed to a gateway: the log-only sender wrote these to the log
    op.execute("UPDATE outbox SET status = 'logged' WHERE status = 'sent' AND sender = 'log'")
    op.execute("UPDATE outbox SET status = 'submitted' WHERE status = 'sent'")


def downgrade() -> None:
    op.execute("UPDATE outbox SET status = 'sent' WHERE status IN ('logged', 'submitted', 'delivered')")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_gateway_ref")
        batch.drop_column("subject")
        batch.drop_column("delivered_at")
        batch.drop_column("gateway_ref")
        batch.alter_column("recipient", type_=sa.String(length=64), existing_type=sa.String(length=255))
        batch.alter_column("status", type_=sa.String(length=8), existing_type=sa.String(length=16))
