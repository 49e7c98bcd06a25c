"""intake: attachments that came with a citizen's message (web form photos and documents)

Revision ID: 0016_intake_attachments
Revises: 0015_intake_messages
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0016_intake_attachments"
down_revision: str | Sequence[str] | None = "0015_intake_messages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "intake_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("intake_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["intake_id"], ["intake_messages.id"], name=op.f("fk_intake_attachments_intake_id_intake_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_intake_attachments_case_id_cases"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_attachments")),
    )
    op.create_index(op.f("ix_intake_attachments_intake_id"), "intake_attachments", ["intake_id"])
    op.create_index(op.f("ix_intake_attachments_case_id"), "intake_attachments", ["case_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_intake_attachments_case_id"), table_name="intake_attachments")
    op.drop_index(op.f("ix_intake_attachments_intake_id"), table_name="intake_attachments")
    op.drop_table("intake_attachments")
