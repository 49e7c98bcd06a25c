"""recordings: voicemail recordings, transcription jobs, transcript edits (issue 4)

Revision ID: 0004_recordings
Revises: 0001_core
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0004_recordings"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recordings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("sample_rate", sa.Integer(), nullable=True),
        sa.Column("caller", sa.String(length=64), nullable=True),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("prefecture", sa.String(length=32), nullable=True),
        sa.Column("mailbox", sa.String(length=64), nullable=True),
        sa.Column("call_uniqueid", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("transcript", sa.Text(), nullable=True),
        sa.Column("transcript_status", sa.String(length=16), nullable=False),
        sa.Column("transcript_note", sa.String(length=255), nullable=True),
        sa.Column("engine", sa.String(length=32), nullable=True),
        sa.Column("model", sa.String(length=128), nullable=True),
        sa.Column("edited_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("transcribed_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("purged_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
        sa.UniqueConstraint("path", name=op.f("uq_recordings_path")),
    )
    op.create_index(op.f("ix_recordings_platform"), "recordings", ["platform"], unique=False)
    op.create_index(op.f("ix_recordings_call_uniqueid"), "recordings", ["call_uniqueid"], unique=False)
    op.create_index(op.f("ix_recordings_case_id"), "recordings", ["case_id"], unique=False)
    op.create_table(
        "transcription_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["recording_id"],
            ["recordings.id"],
            name=op.f("fk_transcription_jobs_recording_id_recordings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transcription_jobs")),
        sa.UniqueConstraint("recording_id", name=op.f("uq_transcription_jobs_recording_id")),
    )
    op.create_index("ix_transcription_jobs_status_lease", "transcription_jobs", ["status", "lease_until"])
    op.create_table(
        "transcript_edits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.Integer(), nullable=False),
        sa.Column("at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("old_text", sa.Text(), nullable=True),
        sa.Column("new_text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recording_id"],
            ["recordings.id"],
            name=op.f("fk_transcript_edits_recording_id_recordings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transcript_edits")),
    )
    op.create_index(
        op.f("ix_transcript_edits_recording_id"), "transcript_edits", ["recording_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_transcript_edits_recording_id"), table_name="transcript_edits")
    op.drop_table("transcript_edits")
    op.drop_index("ix_transcription_jobs_status_lease", table_name="transcription_jobs")
    op.drop_table("transcription_jobs")
    op.drop_index(op.f("ix_recordings_case_id"), table_name="recordings")
    op.drop_index(op.f("ix_recordings_call_uniqueid"), table_name="recordings")
    op.drop_index(op.f("ix_recordings_platform"), table_name="recordings")
    op.drop_table("recordings")
