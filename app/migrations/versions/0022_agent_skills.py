"""users.skills: agents' skills with levels (坐席技能), routed as queue member penalties

Revision ID: 0022_agent_skills
Revises: 0021_flood_counters
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_agent_skills"
down_revision: str | Sequence[str] | None = "0021_flood_counters"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("skills", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("skills")
