"""Wallboard background work: computes KPIs at most a few times a second however many sockets watch
(a cache per scope, invalidated by the events of stats.topics.KPI_TOPICS). No commits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from app.events import Event
from app.runtime import Key
from app.stats import service
from app.stats.topics import KPI_TOPICS

if TYPE_CHECKING:
    from app.runtime import Runtime

KPI_MIN_INTERVAL_S = 0.5  # ≤ 2 recomputations per second per scope


class Stats:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._tasks: set[asyncio.Task[Any]] = set()
        self._kpi: dict[str, tuple[float, int, dict[str, Any]]] = {}  # scope -> (computed at, version, kpis)
        self._locks: dict[str, asyncio.Lock] = {}
        self.version = 0  # bumped by every event that can change a KPI
        self.computations = 0

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        t = asyncio.create_task(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)
        return t

    async def on_event(self, ev: Event) -> None:
        self.version += 1  # subscribed to KPI_TOPICS only: every one can change a KPI

    async def kpis(self, scope: str | None, hotline: str | None = None) -> dict[str, Any]:
        """Cached per scope (and source hotline); recomputed when events arrived and the last
        computation is ≥ 0.5 s old. Callers that need a fresher figure wait until the interval has passed."""
        key = (scope or "all") + ("|" + hotline if hotline else "")
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._kpi.get(key)
            if cached and cached[1] == self.version:
                return cached[2]
            if cached:
                wait = cached[0] + KPI_MIN_INTERVAL_S - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            version = self.version
            async with self.rt.db.sessionmaker() as session:
                data = await service.kpis(self.rt, session, scope, hotline=hotline)
            self.computations += 1
            self._kpi[key] = (time.monotonic(), version, data)
            return data

    async def close(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


STATS: Key[Stats] = Key("stats")


@asynccontextmanager
async def stats(rt: Runtime) -> AsyncIterator[None]:
    comp = Stats(rt)
    rt.put(STATS, comp)
    for prefix in KPI_TOPICS:
        rt.hub.subscribe(prefix, comp.on_event)
    try:
        yield
    finally:
        await comp.close()
        rt.drop(STATS)
