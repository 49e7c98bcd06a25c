"""reports: simulated calls marked as tests, cases indexed by creation time, report deliveries, topic alerts

Revision ID: 0012_reports
Revises: 0011_kb
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_reports"
down_revision: str | Sequence[str] | None = "0011_kb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("is_test", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index("ix_cases_created_at", "cases", ["created_at"])
    op.create_table(
        "report_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("recipients", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("kind", "period", name="uq_report_deliveries_kind"),
    )
    op.create_table(
        "topic_alerts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("term", sa.String(32), nullable=False),
        sa.Column("prefecture", sa.String(32), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("baseline", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("term", "prefecture", "category", "day", name="uq_topic_alerts_term"),
    )


def downgrade() -> None:
    op.drop_table("topic_alerts")
    op.drop_table("report_deliveries")
    op.drop_index("ix_cases_created_at", "cases")
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("is_test")
