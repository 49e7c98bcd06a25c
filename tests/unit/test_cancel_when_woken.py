"""A background loop stops when it is cancelled at the moment it is woken.

Python 3.11's ``asyncio.wait_for`` returned the awaited result instead of raising when the task was
cancelled just as the awaited event fired: the cancellation was lost. The bus's watcher then went on
reconnecting for ever, and ``PgBus.stop()`` (every shutdown on PostgreSQL) never returned — a test hung
600 s in CI. The loops wait with ``asyncio.timeout`` (ruff bans ``asyncio.wait_for`` in the service)."""

from __future__ import annotations

import asyncio

from app.bus import PgBus
from app.events import Event


async def _nothing(_event: Event | None = None) -> None:
    return None


async def test_the_bus_watcher_stops_when_cancelled_as_the_connection_is_lost():
    # nothing listens on port 1: had the cancellation been lost, the watcher would retry connecting
    bus = PgBus("postgresql://hotline@127.0.0.1:1/none", _nothing, _nothing, retry_s=0.05)
    watcher = asyncio.create_task(bus._keep_listening())
    await asyncio.sleep(0.01)  # waiting for the connection to be lost
    bus._lost.set()
    watcher.cancel()  # in the same step: shutting down as the connection drops
    await asyncio.wait({watcher}, timeout=5)
    stopped = watcher.done()
    if not stopped:
        watcher.cancel()  # (the lost cancellation, delivered again, so the loop ends with the test)
    assert stopped and watcher.cancelled(), "the bus's watcher went on after it was cancelled"
    assert bus.reconnects == 0
