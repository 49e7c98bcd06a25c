"""call_recordings: each answered agent call's MixMonitor file (ok / failed / purged)

Revision ID: 0020_call_recordings
Revises: 0019_mail_refused
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db import UTCDateTime

revision: str = "0020_call_recordings"
down_revision: str | Sequence[str] | None = "0019_mail_refused"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "call_recordings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "call_id",
            sa.Integer(),
            sa.ForeignKey("calls.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("uniqueid", sa.String(length=64), nullable=False),
        sa.Column("server", sa.String(length=32), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("detail", sa.String(length=255), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("checked_at", UTCDateTime(), nullable=False),
        sa.Column("purged_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_call_recordings_uniqueid", "call_recordings", ["uniqueid"])
    op.create_index("ix_call_recordings_status", "call_recordings", ["status"])
    op.create_index("ix_call_recordings_created_at", "call_recordings", ["created_at"])


def downgrade() -> None:
    op.drop_table("call_recordings")
