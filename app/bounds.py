"""Bounds every request input shares: paging, identifiers and short codes. A value outside them is a
422 with a clear message, never a database error (SQLite cannot bind integers beyond 64 bits,
PostgreSQL refuses a string longer than its column). And a database that cannot be reached (being
restarted, a cut connection) is a 503 saying so — nothing of the request was stored — not a 500."""

from __future__ import annotations

import logging
import traceback
from typing import Annotated

from fastapi import FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy.exc import DataError, DBAPIError

log = logging.getLogger(__name__)

MAX_OFFSET = 1_000_000
MAX_ID = 2**31 - 1  # an INTEGER column on PostgreSQL

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description=f"rows to skip (at most {MAX_OFFSET})")]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
# short codes stored in String(16..64) columns: platforms, units, queues, call ids
Code = Annotated[str, Field(min_length=1, max_length=64)]
PlatformCode = Annotated[str, Field(min_length=1, max_length=32)]


def install_out_of_range_handlers(app: FastAPI) -> None:
    """The net under the bounds: a value the database cannot hold (an integer beyond 64 bits for
    SQLite, out of range or too long for PostgreSQL) is the client's mistake, answered with 422."""

    async def out_of_range(request: Request, exc: Exception) -> JSONResponse:
        log.info("refused out-of-range input on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return JSONResponse({"detail": "a value is out of range or too long"}, status_code=422)

    async def database_error(request: Request, exc: Exception) -> JSONResponse:
        orig = getattr(exc, "orig", None)
        state = str(getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "")
        if state.startswith("22"):  # SQL "data exception": too long, out of range, NUL in text …
            return await out_of_range(request, exc)
        # 08: connection exception; 57P: the server is shutting down / starting (operator intervention)
        if getattr(exc, "connection_invalidated", False) or state.startswith(("08", "57P")):
            return unavailable(request, exc)
        log.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"detail": "Internal Server Error"}, status_code=500)

    async def connection_error(request: Request, exc: Exception) -> JSONResponse:
        if _from_database_driver(exc):  # refused / reset while opening a database connection
            return unavailable(request, exc)
        log.error("connection error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"detail": "Internal Server Error"}, status_code=500)

    app.add_exception_handler(OverflowError, out_of_range)
    app.add_exception_handler(DataError, out_of_range)
    app.add_exception_handler(DBAPIError, database_error)
    app.add_exception_handler(ConnectionError, connection_error)


DATABASE_UNAVAILABLE = "数据库暂时不可用，本次操作未保存，请稍后重试"


def unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return JSONResponse(
        {"detail": DATABASE_UNAVAILABLE, "error": "database_unavailable"}, status_code=503,
        headers={"Retry-After": "5"},
    )  # fmt: skip


def _from_database_driver(exc: BaseException) -> bool:
    return any(
        "/sqlalchemy/" in f.filename or "/asyncpg/" in f.filename for f in traceback.extract_tb(exc.__traceback__)
    )
