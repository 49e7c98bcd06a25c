"""Alembic has exactly one head: a new migration descends from the current head (today
0008_merge_heads or later), never from 0001_core beside the others. See docs/adr."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from app.migrate import alembic_config


def test_exactly_one_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, (
        f"Alembic has {len(heads)} heads {sorted(heads)}: make your migration's down_revision the "
        "current head (alembic heads), or add a merge revision"
    )
