"""mail: citizens' mail refused by the mailbox reader, kept with the reason

Revision ID: 0019_mail_refused
Revises: 0018_call_transfers
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0019_mail_refused"
down_revision: str | Sequence[str] | None = "0018_call_transfers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mail_refused",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("mailbox", sa.String(length=255), nullable=False),
        sa.Column("message_key", sa.String(length=255), nullable=False),
        sa.Column("sender_masked", sa.String(length=255), nullable=False),
        sa.Column("sender_sha256", sa.String(length=64), nullable=True),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("kept", sa.String(length=16), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("received_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_refused")),
        sa.UniqueConstraint("mailbox", "message_key", name="uq_mail_refused_mailbox_key"),
    )
    op.create_index(op.f("ix_mail_refused_platform"), "mail_refused", ["platform"])
    op.create_index(op.f("ix_mail_refused_received_at"), "mail_refused", ["received_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_mail_refused_received_at"), table_name="mail_refused")
    op.drop_index(op.f("ix_mail_refused_platform"), table_name="mail_refused")
    op.drop_table("mail_refused")
