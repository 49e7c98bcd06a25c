"""The hot reads through asyncpg directly (app.driver_reads) give exactly the rows SQLAlchemy gives —
the case list and GET case do take that path on PostgreSQL — statements it cannot read the same way
keep SQLAlchemy's, and a pooled connection PostgreSQL ended is replaced without the user noticing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Numeric, bindparam, cast, literal, select

from app.cases import queries
from app.cases.models import Case
from app.db import Database
from app.driver_reads import compile_for_driver
from tests.integration.test_cases_helpers import world
from tests.integration.test_db_sessions import end_pooled_connections

pg_only = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


async def _through_sqlalchemy(
    db: Database, statement: object, params: dict[str, object]
) -> list[tuple[object, ...]]:
    async with db.read_engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(statement, params)).all()]  # type: ignore[call-overload]


@pg_only
async def test_the_list_and_a_case_read_through_the_driver_are_the_rows_sqlalchemy_reads(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        numbers = [
            (await w.create(summary=f"停水 {i}", category_code="0101"))["case"]["number"] for i in range(3)
        ]
        await w.act(
            "km.agent", numbers[0], "dispatch", unit_code="km-water", co_units=["km-power"], note="请核查"
        )
        db: Database = w.runtime.db
        page_q, count_q = queries._list_statements(
            "platform", False, 1, True, False, False, False, False, False, False
        )
        case_q = queries._CASE_WITH_EVENTS
        for statement in (page_q, count_q, case_q):
            assert db.driver_reads.statement(statement) is not None, (
                "a hot read would not take the driver path"
            )
        first = datetime.fromisoformat((await w.get("km.agent", numbers[0]))["created_at"])
        reads = [
            (page_q, {"limit": 2, "offset": 1, "scope_platform": "kunming", "w0": "%停水%", "created_from": first}),
            (count_q, {"scope_platform": "kunming", "w0": "%停水%", "created_from": datetime(2000, 1, 1, tzinfo=UTC)}),
            (case_q, {"number": numbers[0]}),
        ]  # fmt: skip
        for statement, params in reads:
            fast = [tuple(r) for r in await db.read(statement, params)]
            assert fast, statement
            assert fast == await _through_sqlalchemy(db, statement, params)
            for value in fast[0]:
                if hasattr(value, "tzinfo"):
                    assert value.utcoffset().total_seconds() == 0  # aware and in UTC, as UTCDateTime gives
        # what the user sees: the list's co-units and total come from the same row
        r = await w.client.get("/api/cases", params={"limit": 2}, headers=w.h["km.agent"])
        assert r.json()["total"] == 3 and len(r.json()["items"]) == 2
        listed = {
            c["number"]: c
            for c in (await w.client.get("/api/cases", headers=w.h["km.agent"])).json()["items"]
        }
        assert listed[numbers[0]]["co_units"] == ["km-power"]


@pg_only
async def test_statements_the_driver_would_read_differently_keep_sqlalchemys_path(tmp_path, db_url):
    db = Database(db_url)
    try:
        dialect = db.engine.dialect
        expanding = select(Case.id).where(Case.status.in_(bindparam("s", expanding=True)))
        assert compile_for_driver(expanding, dialect) is None
        converted = select(cast(literal(1.5), Numeric(asdecimal=False)))  # Decimal -> float in Python
        assert compile_for_driver(converted, dialect) is None
        plain = select(Case.id, Case.created_at).where(Case.number == bindparam("n"))
        assert compile_for_driver(plain, dialect) is not None
    finally:
        await db.dispose()
    sqlite = Database(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        assert not sqlite.driver_reads.enabled
    finally:
        await sqlite.dispose()


@pg_only
async def test_a_pooled_connection_postgresql_ended_is_replaced_on_the_driver_path(tmp_path, db_url):
    """No idle check (db_ping_idle_s large): the driver read meets the dead connection itself, drops it
    and reads again on a new one — the user gets the list, not an error."""
    async with world(tmp_path, db_url, db_ping_idle_s=3600, session_cache_ttl_s=3600) as w:
        await w.create()
        h = w.h["km.agent"]
        assert (await w.client.get("/api/cases", headers=h)).status_code == 200
        assert await end_pooled_connections(db_url) >= 1
        for _ in range(3):
            r = await w.client.get("/api/cases", headers=h)
            assert r.status_code == 200, r.text
            assert r.json()["total"] == 1
