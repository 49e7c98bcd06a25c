"""kb_articles.origin/origin_id and exchange_knowledge_pulls: a peer's published knowledge kept here as
read-only copies, pulled incrementally

Revision ID: 0028_kb_copies
Revises: 0027_callback_queue
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0028_kb_copies"
down_revision: str | Sequence[str] | None = "0027_callback_queue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("kb_articles") as batch:
        batch.add_column(sa.Column("origin", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("origin_id", sa.Integer(), nullable=True))
        batch.create_unique_constraint("uq_kb_articles_origin", ["origin", "origin_id"])
    op.create_table(
        "exchange_knowledge_pulls",
        sa.Column("peer", sa.String(length=32), primary_key=True),
        sa.Column("updated_since", sa.String(length=64), nullable=True),
        sa.Column("after_id", sa.Integer(), nullable=False),
        sa.Column("copies", sa.Integer(), nullable=False),
        sa.Column("pulled_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tried_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=255), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("exchange_knowledge_pulls")
    with op.batch_alter_table("kb_articles") as batch:
        batch.drop_constraint("uq_kb_articles_origin", type_="unique")
        batch.drop_column("origin_id")
        batch.drop_column("origin")
