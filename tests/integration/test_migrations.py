"""The Alembic migrations (every domain's branch from 0001_core) build exactly the models' schema."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

import app.models_registry  # noqa: F401
from app.db import Base
from app.migrate import upgrade


def _diff(sync_conn):  # type: ignore[no-untyped-def]
    ctx = MigrationContext.configure(sync_conn, opts={"compare_type": False})
    return compare_metadata(ctx, Base.metadata)


async def test_migrations_match_models(db_url):
    await asyncio.to_thread(upgrade, db_url)
    engine = create_async_engine(db_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(_diff)
    finally:
        await engine.dispose()
    # only real schema differences count (index/constraint naming nuances are reported as pairs)
    tables = [d for d in diff if d[0] in ("add_table", "remove_table", "add_column", "remove_column")]
    assert tables == [], tables


async def test_upgrade_twice_is_a_no_op(db_url):
    await asyncio.to_thread(upgrade, db_url)
    await asyncio.to_thread(upgrade, db_url)
