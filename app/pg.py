"""PostgreSQL coordination between the service's processes: advisory locks (migrations run once, one
leader per role) on dedicated asyncpg connections. SQLite has one process: everything here is a
no-op there (``is_pg`` tells). Kernel module: imports no domain."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

# advisory lock keys are (namespace, key) int4 pairs; the namespace keeps ours apart from others'
NAMESPACE = 0x12345  # "hotline 12345"


def is_pg(url: str) -> bool:
    return url.startswith("postgresql")


def dsn(url: str) -> str:
    """The SQLAlchemy URL as a plain libpq/asyncpg DSN (driver suffix removed)."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def lock_key(name: str) -> int:
    """A stable signed int4 for a lock name (crc32), e.g. ``ami:main`` or ``migrate``."""
    v = zlib.crc32(name.encode("utf-8"))
    return v - (1 << 32) if v >= 1 << 31 else v


async def connect(url: str, **kw: Any) -> Any:
    import asyncpg

    return await asyncpg.connect(dsn(url), **kw)


@contextlib.asynccontextmanager
async def advisory_lock(url: str, name: str) -> AsyncIterator[None]:
    """Waits for and holds a session-level advisory lock for the block (released when the block ends,
    or by PostgreSQL itself when this process dies and its connection closes)."""
    conn = await connect(url)
    try:
        await conn.execute("SELECT pg_advisory_lock($1, $2)", NAMESPACE, lock_key(name))
        yield
    finally:
        with contextlib.suppress(Exception):
            await conn.execute("SELECT pg_advisory_unlock($1, $2)", NAMESPACE, lock_key(name))
        await conn.close()


class Leader:
    """Leader election for one role (``name``) among the service's processes: the holder of a
    session-level advisory lock on a dedicated connection leads. Followers try every ``interval_s``;
    the leader checks its connection as often and steps down when it is lost (its lock is gone with
    it). A dead leader's connection closes with its process, so a follower takes over within about
    ``interval_s`` (plus the time PostgreSQL takes to see the closed socket: at once for a killed
    process on the same network).

    A slow answer is not a lost lock: the lock lives as long as the connection, so a leader whose
    check times out (a loaded machine, a busy event loop) keeps leading for ``grace_s`` since its last
    answered check and steps down only when the connection is gone or that grace has passed. Stepping
    down at the first slow check lost the AMI events in between (an agent's wrap-up, seen under load).

    ``on_elected`` and ``on_deposed`` are awaited in order; a failing callback is logged. ``stopping``
    tells ``on_deposed`` whether the process is shutting down rather than losing the lock."""

    def __init__(
        self,
        url: str,
        name: str,
        *,
        on_elected: Callable[[], Awaitable[None]],
        on_deposed: Callable[[], Awaitable[None]],
        interval_s: float = 1.0,
        grace_s: float = 15.0,
    ) -> None:
        self.url = url
        self.grace_s = max(grace_s, interval_s * 3)
        self.stopping = False
        self._answered = 0.0  # monotonic time of the last answered check
        self._ping: asyncio.Future[Any] | None = None
        self.name = name
        self.on_elected = on_elected
        self.on_deposed = on_deposed
        self.interval_s = interval_s
        self.leading = False
        self.elections = 0
        self._conn: Any = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Tries once at once (a lone process leads from its start, as before), then keeps trying."""
        await self._step()
        self._task = asyncio.create_task(self._run(), name=f"leader:{self.name}")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self._step()

    async def _step(self) -> None:
        try:
            if self.leading and (self._conn is None or self._conn.is_closed()):
                raise ConnectionError("the lock's connection is closed")  # and the lock with it
            if self._conn is None or self._conn.is_closed():
                self._conn = await connect(
                    self.url, timeout=max(1.0, self.interval_s * 3),
                    server_settings={"application_name": f"hotline-leader-{self.name}"},
                )  # fmt: skip
            if self.leading:
                await self._check()
                return
            key = lock_key(self.name)
            if await self._conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", NAMESPACE, key):
                self._answered = time.monotonic()
                self.leading = True
                self.elections += 1
                log.info("leader for %s: this process (pid %d, #%d)", self.name, os.getpid(), self.elections)
                await self._call(self.on_elected)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.warning("leader election for %s: %s", self.name, e or type(e).__name__)
            await self._lost()

    async def _check(self) -> None:
        """One check of the lock's connection. A check still unanswered is waited for at the next
        step, not cancelled (cancelling a query mid-flight leaves the connection busy)."""
        if self._ping is None:
            self._ping = asyncio.ensure_future(self._conn.fetchval("SELECT 1"))
        await asyncio.wait({self._ping}, timeout=max(1.0, self.interval_s * 3))
        if self._ping.done():
            ping, self._ping = self._ping, None
            ping.result()  # a lost connection raises here
            self._answered = time.monotonic()
            return
        late = time.monotonic() - self._answered
        if late > self.grace_s:
            raise TimeoutError(f"no answer for {late:.1f} s")
        log.warning("leader for %s: check unanswered for %.1f s; still leading", self.name, late)

    async def _lost(self) -> None:
        if self._ping is not None:
            self._ping.cancel()
            self._ping = None
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.terminate()
        if self.leading:
            self.leading = False
            log.warning("leader for %s: stepped down (lock connection lost)", self.name)
            await self._call(self.on_deposed)

    async def _call(self, fn: Callable[[], Awaitable[None]]) -> None:
        try:
            await fn()
        except Exception:
            log.exception("leader %s: callback failed", self.name)

    async def stop(self) -> None:
        self.stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        busy = self._ping is not None and not self._ping.done()
        if self._ping is not None:
            self._ping.cancel()
            self._ping = None
        if self.leading:
            self.leading = False
            await self._call(self.on_deposed)
        if self._conn is not None:
            conn, self._conn = self._conn, None
            # a check still in flight would make a graceful close wait for its cancellation (a new
            # connection to the server): end the socket instead; the lock goes with it either way
            if busy:
                conn.terminate()
            else:
                try:
                    async with asyncio.timeout(5):
                        await conn.close()
                except Exception:
                    conn.terminate()


@contextlib.asynccontextmanager
async def while_leading(
    url: str,
    name: str,
    elected: Callable[[], Awaitable[None]],
    deposed: Callable[[], Awaitable[None]],
    interval_s: float = 1.0,
) -> AsyncIterator[Leader | None]:
    """Work that must run in one process at a time (a scheduler's loop): ``elected`` starts it in the
    process that leads ``name``, ``deposed`` stops it there. On SQLite (one process) it simply runs."""
    if not is_pg(url):
        await elected()
        try:
            yield None
        finally:
            await deposed()
        return
    leader = Leader(url, name, on_elected=elected, on_deposed=deposed, interval_s=interval_s)
    await leader.start()
    try:
        yield leader
    finally:
        await leader.stop()


def connection_budget(processes: list[tuple[int, int]], max_connections: int) -> str | None:
    """A warning when the service's processes — (how many, connections each at most: pool + overflow)
    — could open more PostgreSQL connections than the server allows ("too many clients already" under
    a burst); None when they fit (3 are kept for superusers)."""
    most = sum(n * each for n, each in processes)
    if most <= max_connections - 3:
        return None
    parts = " + ".join(f"{n} x {each}" for n, each in processes if n)
    return (
        f"the processes may open {parts} = {most} PostgreSQL connections, but the server allows "
        f"{max_connections}: lower HOTLINE_DB_POOL_SIZE / HOTLINE_DB_MAX_OVERFLOW (HTTP workers) or "
        "HOTLINE_AGI_DB_POOL_SIZE / HOTLINE_AGI_DB_MAX_OVERFLOW (FastAGI processes), or raise max_connections"
    )


async def max_connections(url: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(dsn(url), timeout=10)
    try:
        return int(await conn.fetchval("SHOW max_connections"))
    finally:
        await conn.close()
