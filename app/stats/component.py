"""Wallboard background work: follows call-backs through AMI events, and computes KPIs at most a few
times a second however many sockets watch (a cache per scope)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from app.events import Event
from app.stats import models as sm
from app.stats import service

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
        if ev.topic.startswith(
            ("call.", "agent.connect", "queue.caller_join", "telephony.resync", "case.transition")
        ):
            self.version += 1
        if ev.topic == "outbound.dial_end":
            status = sm.CONNECTED if ev.data.get("status") == "ANSWER" else sm.FAILED
            detail = None if status == sm.CONNECTED else f"市民未接听 ({ev.data.get('status')})"
            self.spawn(service.update_callback(self.rt, str(ev.data["linkedid"]), status, detail))
        elif ev.topic == "outbound.hangup":
            self.spawn(self._ended(str(ev.data["linkedid"]), str(ev.data.get("cause", ""))))

    async def _ended(self, channel_id: str, cause: str) -> None:
        await asyncio.sleep(0.2)  # let DialEnd's update land first
        await service.update_callback(self.rt, channel_id, sm.DONE, None)

    async def kpis(self, scope: str | None) -> dict[str, Any]:
        """Cached per scope; recomputed when events arrived and the last computation is ≥ 0.5 s old.
        Callers that need a fresher figure wait until the interval has passed."""
        key = scope or "all"
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
                data = await service.kpis(self.rt, session, scope)
            self.computations += 1
            self._kpi[key] = (time.monotonic(), version, data)
            return data

    async def close(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


@asynccontextmanager
async def stats(rt: Runtime) -> AsyncIterator[None]:
    comp = Stats(rt)
    rt.components["stats"] = comp
    for prefix in (
        "call.",
        "agent.connect",
        "queue.caller_join",
        "telephony.resync",
        "outbound.",
        "case.transition",
    ):
        rt.hub.subscribe(prefix, comp.on_event)
    try:
        yield
    finally:
        await comp.close()
