"""The Alembic migrations (domain branches from 0001_core, merged into one head by 0008) build exactly the models' schema."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

import app.models_registry  # noqa: F401
from app.db import Base
from app.kb.search import FTS_TABLE
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
    # the knowledge base's full-text index (kb_fts: FTS5 and its shadow tables, or a tsvector table) is
    # the database's own structure, made by its migration and not a model
    tables = [
        d
        for d in diff
        if d[0] in ("add_table", "remove_table", "add_column", "remove_column")
        and not (d[0] == "remove_table" and d[1].name.startswith(FTS_TABLE))
    ]
    assert tables == [], tables


def _schema(sync_conn):  # type: ignore[no-untyped-def]
    """Everything a migration could change: tables, columns (type, nullability, default), keys,
    indexes, constraints, and the Alembic revision(s) recorded."""
    insp = inspect(sync_conn)
    out: dict[str, object] = {}
    for t in sorted(insp.get_table_names()):
        out[t] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], str(c.get("default"))) for c in insp.get_columns(t)
            ],
            "pk": insp.get_pk_constraint(t).get("constrained_columns"),
            "fks": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                for f in insp.get_foreign_keys(t)
            ),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(t)
            ),
            "unique": sorted(
                (u["name"] or "", tuple(u["column_names"])) for u in insp.get_unique_constraints(t)
            ),
        }
    out["alembic_version"] = sorted(
        r[0] for r in sync_conn.execute(text("SELECT version_num FROM alembic_version"))
    )
    return out


async def _snapshot(db_url: str) -> tuple[dict[str, object], list[str]]:
    engine = create_async_engine(db_url)
    try:
        async with engine.connect() as conn:
            schema = await conn.run_sync(_schema)
            units = [r[0] for r in await conn.execute(text("SELECT code FROM units ORDER BY code"))]
    finally:
        await engine.dispose()
    return schema, units


async def test_upgrade_twice_is_a_no_op(db_url):
    await asyncio.to_thread(upgrade, db_url)
    engine = create_async_engine(db_url)
    try:
        async with engine.begin() as conn:  # a row that a drop-and-recreate would lose
            await conn.execute(
                text(
                    "INSERT INTO units (code, name, kind, platform, active, created_at)"
                    " VALUES ('u1', '供水', 'utility', 'dali', :t, :at)"
                ),
                {"t": True, "at": datetime(2026, 1, 1, tzinfo=UTC)},
            )
    finally:
        await engine.dispose()
    before, units_before = await _snapshot(db_url)
    assert len(before) > 10 and before["alembic_version"] and units_before == ["u1"]
    await asyncio.to_thread(upgrade, db_url)
    after, units_after = await _snapshot(db_url)
    assert after == before
    assert units_after == ["u1"]
