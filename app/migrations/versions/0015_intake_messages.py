"""intake: every citizen's message from a channel (SMS, e-mail, web, WeChat, apps, Open311), kept as
received, unique per (channel, external id)

Revision ID: 0015_intake_messages
Revises: 0014_outbox_states
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0015_intake_messages"
down_revision: str | Sequence[str] | None = "0014_outbox_states"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "intake_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("sender", sa.String(length=255), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("subject", sa.String(length=255), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("place", sa.String(length=255), nullable=True),
        sa.Column("received_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_intake_messages_case_id_cases"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_messages")),
        sa.UniqueConstraint("channel", "external_id", name="uq_intake_messages_channel_external"),
    )
    op.create_index("ix_intake_messages_sender", "intake_messages", ["channel", "sender"])
    op.create_index(op.f("ix_intake_messages_case_id"), "intake_messages", ["case_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_intake_messages_case_id"), table_name="intake_messages")
    op.drop_index("ix_intake_messages_sender", table_name="intake_messages")
    op.drop_table("intake_messages")
