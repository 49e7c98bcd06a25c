"""merge the domain branches into one head (every migration after this descends from it)

Revision ID: 0008_merge_heads
Revises: 0002_agents, 0004_recordings, 0006_cases_fillfactor, 0006_surveys, 0007_auth_sessions
"""

from collections.abc import Sequence

revision: str = "0008_merge_heads"
down_revision: str | Sequence[str] | None = ("0002_agents", "0004_recordings", "0006_cases_fillfactor", "0006_surveys", "0007_auth_sessions")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
