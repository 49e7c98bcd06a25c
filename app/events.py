"""In-process event hub. Domain events are published after the transaction commits.

Subscribers are async callables or asyncio.Queues (WebSocket connections use queues).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

Handler = Callable[["Event"], Awaitable[None]]


@dataclass(frozen=True)
class Event:
    topic: str  # e.g. "call.updated", "agent.state", "case.created"
    data: dict[str, Any] = field(default_factory=dict)


class EventHub:
    def __init__(self) -> None:
        self._handlers: list[tuple[str, Handler]] = []
        self._queues: set[asyncio.Queue[Event]] = set()

    def subscribe(self, prefix: str, handler: Handler) -> None:
        self._handlers.append((prefix, handler))

    def queue(self, maxsize: int = 1000) -> asyncio.Queue[Event]:
        q: asyncio.Queue[Event] = asyncio.Queue(maxsize=maxsize)
        self._queues.add(q)
        return q

    def drop_queue(self, q: asyncio.Queue[Event]) -> None:
        self._queues.discard(q)

    async def publish(self, event: Event) -> None:
        for q in list(self._queues):
            try:
                q.put_nowait(event)
            except asyncio.QueueFull:
                log.warning("event queue full; dropping a slow subscriber")
                self._queues.discard(q)
        for prefix, handler in list(self._handlers):
            if event.topic.startswith(prefix):
                try:
                    await handler(event)
                except Exception:
                    log.exception("event handler failed for %s", event.topic)

    async def publish_all(self, events: list[Event]) -> None:
        for e in events:
            await self.publish(e)
