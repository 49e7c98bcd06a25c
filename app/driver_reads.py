"""The hot reads (GET case, the case list) on PostgreSQL straight through asyncpg, past SQLAlchemy's
result machinery: the statement is still built with SQLAlchemy and compiled by its asyncpg dialect,
once; the connection still comes from (and goes back to) SQLAlchemy's pool. Only executing it and
reading its rows skip the adapter's cursor, the Row objects and the per-column processing that a
row read only to be shown does not need — a third of such a read's CPU on a 20-row page
(docs/adr/2026-12-03-driver-reads.md).

A statement qualifies only when the result is the same either way: no expanding (``IN``) parameter,
and no result column whose type converts values in Python on this dialect (app.db.UTCDateTime does
not on asyncpg). Anything else, SQLite, and any error (the read is then run again the usual way, so
errors come back as SQLAlchemy's, which app.bounds answers: 422, 503) takes SQLAlchemy's path."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

log = logging.getLogger(__name__)

MAX_STATEMENTS = (
    2048  # the hot statements are built once each (app.cases.queries): a bound, not a cache policy
)


@dataclass(frozen=True)
class DriverStatement:
    sql: str
    names: tuple[str, ...]  # the positional parameters ($1, $2, …) in order
    defaults: dict[str, Any]  # values the statement carries itself (literals SQLAlchemy made parameters)
    processors: tuple[Callable[[Any], Any] | None, ...]

    def args(self, params: dict[str, Any]) -> list[Any]:
        out = []
        for name, proc in zip(self.names, self.processors, strict=True):
            value = params[name] if name in params else self.defaults[name]
            out.append(proc(value) if proc is not None else value)
        return out


def compile_for_driver(statement: Any, dialect: Dialect) -> DriverStatement | None:
    """``statement`` as SQL the asyncpg driver runs as it is, or None when it does not qualify."""
    if dialect.name != "postgresql" or dialect.driver != "asyncpg":
        return None
    compiled = statement.compile(dialect=dialect)
    binds = compiled.binds
    if any(b.expanding for b in binds.values()):
        return None
    for column in getattr(statement, "selected_columns", ()):
        try:
            converts = column.type.dialect_impl(dialect).result_processor(dialect, None) is not None
        except Exception:  # noqa: BLE001 - a type that needs the driver's column type to tell: not here
            converts = True
        if converts:
            return None
    names = tuple(compiled.positiontup or ())
    processors = tuple(binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names)
    return DriverStatement(str(compiled), names, dict(compiled.params), processors)


class DriverReads:
    """Per engine: each statement compiled for the driver once (kept with the statement, by identity)."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.enabled = dialect.name == "postgresql" and dialect.driver == "asyncpg"
        self._compiled: dict[int, tuple[Any, DriverStatement | None]] = {}

    def statement(self, statement: Any) -> DriverStatement | None:
        hit = self._compiled.get(id(statement))
        if hit is not None and hit[0] is statement:
            return hit[1]
        ds = compile_for_driver(statement, self.dialect)
        if len(self._compiled) >= MAX_STATEMENTS:
            self._compiled.clear()
        self._compiled[id(statement)] = (statement, ds)
        return ds

    async def fetch(
        self, conn: AsyncConnection, ds: DriverStatement, params: dict[str, Any]
    ) -> Sequence[Any] | None:
        """The rows (asyncpg Records: indexed and iterated like rows), or None when the driver failed:
        the connection is then invalidated and the caller reads again through SQLAlchemy."""
        try:
            raw = await conn.get_raw_connection()
            return await raw.driver_connection.fetch(ds.sql, *ds.args(params))  # type: ignore[union-attr]
        except Exception as e:  # noqa: BLE001 - re-run the SQLAlchemy way, which raises its own error
            log.info("driver read failed (%s); reading through SQLAlchemy", type(e).__name__)
            await conn.invalidate()
            return None
