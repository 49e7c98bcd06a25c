"""mail_refused.status/case_number/resolved_by/resolved_at/note: an administrator settles a refused
mail (taken in after all, or not, and why)

Revision ID: 0029_mail_refused_review
Revises: 0028_kb_copies
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0029_mail_refused_review"
down_revision: str | Sequence[str] | None = "0028_kb_copies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mail_refused") as batch:
        batch.add_column(sa.Column("status", sa.String(length=16), nullable=False, server_default="refused"))
        batch.add_column(sa.Column("case_number", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("resolved_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("resolved_at", app.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("note", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mail_refused") as batch:
        for name in ("note", "resolved_at", "resolved_by", "case_number", "status"):
            batch.drop_column(name)
