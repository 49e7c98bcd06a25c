"""Database engine and sessions. SQLite (aiosqlite) by default, PostgreSQL (asyncpg) in production.

Services never commit; the boundary (HTTP request, AGI handler, AMI consumer) does.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import DateTime, MetaData, event, exc
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

from app.driver_reads import DriverReads

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def result_processor(self, dialect: Any, coltype: object) -> Any:
        # asyncpg already returns a timestamptz as an aware UTC datetime: no per-value Python call (12
        # columns x 20 rows on a case list page)
        if dialect.name == "postgresql" and dialect.driver == "asyncpg":
            return None
        return super().result_processor(dialect, coltype)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


# a pooled PostgreSQL connection idle for longer than this is checked before it is handed out
PING_IDLE_S = 10.0


# PostgreSQL connections a process keeps (opened when first needed) and may add under a burst. Kept:
# as many as the requests it serves at once — a connection beyond them is closed when returned and
# opened again for the next burst (a new server process, authentication, every statement prepared
# again): with 10 kept, 16 concurrent GET case opened 64 connections per 1000 requests, with 20 none
# (docs/adr/2026-12-02-request-cost.md). Settings db_pool_size / db_max_overflow.
POOL_SIZE, MAX_OVERFLOW = 20, 10


def make_engine(
    url: str, ping_idle_s: float = PING_IDLE_S, pool_size: int = POOL_SIZE, max_overflow: int = MAX_OVERFLOW
) -> AsyncEngine:
    kwargs: dict[str, object] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs["pool_size"] = pool_size
        kwargs["max_overflow"] = max_overflow
    engine = create_async_engine(url, **kwargs)
    if not url.startswith("sqlite"):
        _ping_when_idle(engine, ping_idle_s)
    if url.startswith("sqlite"):

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            # SQLAlchemy, not the driver, starts transactions (see _sqlite_begin)
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            # WAL is a property of the file: only a new file needs the switch. Asked of every new
            # connection, the switch once failed with "database is locked" under load (a test's first
            # query after start-up; not reproduced on demand): a connection that finds WAL asks nothing
            cur.execute("PRAGMA journal_mode")
            if str(cur.fetchone()[0]).lower() != "wal":
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin(conn):  # type: ignore[no-untyped-def]
            # Sessions that may write take the write lock up front, so they queue on the busy timeout
            # instead of failing with "database is locked" when a read transaction would have to be
            # upgraded while another connection writes. Read-only sessions (GET requests) do not
            # serialise behind writers: WAL lets them read a snapshot concurrently.
            if conn.get_execution_options().get("hotline_readonly"):
                conn.exec_driver_sql("BEGIN")
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _ping_when_idle(engine: AsyncEngine, idle_s: float) -> None:
    """A connection back from the pool is checked only when it sat idle for ``idle_s``: that is when a
    PostgreSQL restart or an idle timeout has had time to end it. SQLAlchemy's pool_pre_ping checks
    on every checkout, and asyncpg's check is three round trips (BEGIN, ';', ROLLBACK) — more than the
    one query a common read makes. A connection that fails the check is replaced (DisconnectionError:
    the pool retries with a new one); one that breaks while busy fails its request and the pool
    invalidates it, as without any check."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _idle_since(_dbapi_conn, record):  # type: ignore[no-untyped-def]
        record.info["hotline_idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _check_if_idle(dbapi_conn, record, _proxy):  # type: ignore[no-untyped-def]
        since = record.info.get("hotline_idle_since")
        if since is None or time.monotonic() - since < idle_s:
            return
        try:
            dbapi_conn.ping()
        except Exception as e:
            raise exc.DisconnectionError(
                f"pooled connection idle {time.monotonic() - since:.0f} s is gone"
            ) from e


_M = TypeVar("_M", bound=BaseModel)


@cache
def _mapped_fields(entity: Any, model: type[BaseModel]) -> frozenset[str]:
    columns: set[str] = set(sa_inspect(entity).column_attrs.keys())
    return frozenset(k for k in model.model_fields if k in columns)


class RowView:
    """A row read with SQLAlchemy Core (no ORM instance, identity map or change tracking): its columns as
    plain attributes, for read-only paths that only show a row (app.cases.queries: GET case, the list)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Any:  # only a column the row lacks lands here
        raise AttributeError(f"the row has no column {name!r}")


def row_values(model: type[BaseModel], row: Any) -> dict[str, Any]:
    """The values ``model`` reads from a row, as a new dict the caller may add to: an ORM row's loaded
    attributes (its ``__dict__``, one plain dict) instead of one mapped-attribute descriptor per field —
    a third of the cost, the same result; a row with one of those attributes not loaded (expired) is
    read attribute by attribute, as before. A plain row (app.cases.queries.RowView) is its dict."""
    loaded = row.__dict__
    entity: Any = type(row)
    if hasattr(entity, "__mapper__") and not _mapped_fields(entity, model) <= loaded.keys():
        return {k: getattr(row, k) for k in _mapped_fields(entity, model)}
    return dict(loaded)


def validate_row(model: type[_M], row: Any) -> _M:
    """``model.model_validate(row)`` for a row, read as :func:`row_values`."""
    return model.model_validate(row_values(model, row))


READONLY = "hotline_readonly"


class ReadOnlySessionError(RuntimeError):
    pass


@event.listens_for(Session, "before_flush")
def _refuse_writes_in_read_sessions(session: Session, _ctx: object, _instances: object) -> None:
    """A read session (GET) that would write is a bug, not a write: under autocommit it would persist
    each statement on its own. Refused loudly instead of half-applied."""
    if session.info.get(READONLY) and (session.new or session.dirty or session.deleted):
        raise ReadOnlySessionError("a read-only (GET) session tried to write; use the writing session")


class Database:
    """Holds the engine and session factory of one running service."""

    def __init__(
        self,
        url: str,
        ping_idle_s: float = PING_IDLE_S,
        pool_size: int = POOL_SIZE,
        max_overflow: int = MAX_OVERFLOW,
    ) -> None:
        self.url = url
        self.engine = make_engine(url, ping_idle_s, pool_size, max_overflow)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        # for requests that only read (GET/HEAD): on SQLite a deferred transaction; on PostgreSQL no
        # transaction at all (autocommit): under READ COMMITTED every statement takes its own snapshot
        # anyway, so BEGIN and ROLLBACK around a read only cost two round trips. A GET that writes
        # takes the writing session explicitly (app.deps.WriteSessionDep).
        readonly: dict[str, object] = {"hotline_readonly": True}
        if not url.startswith("sqlite"):
            readonly["isolation_level"] = "AUTOCOMMIT"
        self.read_engine = self.engine.execution_options(**readonly)
        self.read_sessionmaker = async_sessionmaker(
            self.read_engine, expire_on_commit=False, info={READONLY: True}
        )
        self.driver_reads = DriverReads(self.engine.dialect)

    async def read(self, statement: Any, params: dict[str, Any]) -> Sequence[Any]:
        """The rows of one read-only statement on a connection held only while it runs (no ORM session:
        the rows are shown, never changed), indexed and iterated by position. For the hot reads (GET
        case, the case list); on PostgreSQL through the driver where that gives the same rows
        (app.driver_reads)."""
        ds = self.driver_reads.statement(statement) if self.driver_reads.enabled else None
        if ds is not None:
            async with self.read_engine.connect() as conn:
                rows = await self.driver_reads.fetch(conn, ds, params)
            if rows is not None:
                return rows
        try:
            return await self._execute(statement, params)
        except exc.DBAPIError as e:
            if not e.connection_invalidated:
                raise
        # the connection was gone (PostgreSQL restarted, or ended it): SQLAlchemy has dropped the pool's
        # connections of before; a read is safe to run again, on a new one
        return await self._execute(statement, params)

    async def _execute(self, statement: Any, params: dict[str, Any]) -> list[Any]:
        async with self.read_engine.connect() as conn:
            return list((await conn.execute(statement, params)).all())

    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as s:
            yield s

    async def dispose(self) -> None:
        await self.engine.dispose()
