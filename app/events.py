"""In-process event hub. Domain events are published after the transaction commits.

Subscribers are async callables or asyncio.Queues (WebSocket connections use queues).
With several processes (PostgreSQL) the hub also sends each event to the message bus (app.bus) and
receives the other processes' events from it: those reach the queues (every page sees every change)
and only the handlers subscribed ``everywhere=True`` (caches; components that run in one process);
a plain handler sees the events of its own process only, so a side effect of an event (a screen-pop
built, a wrap-up started) happens once, where the event was produced. Topics starting with "_" or
"bus." stay in their process.
Boundaries (routes, AGI handlers, workers, schedulers) end a unit of work with
:func:`commit_and_publish`: commit first, then publish, so no subscriber ever sees an event for a
row that is not (yet, or ever) in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)

Handler = Callable[["Event"], Awaitable[None]]


@dataclass(frozen=True)
class Event:
    topic: str  # e.g. "call.updated", "agent.state", "case.created"
    data: dict[str, Any] = field(default_factory=dict)


# the kernel's own topic: an administrator saved a holiday file (app.health.router); every process's
# Runtime reloads its calendar on it
CALENDAR_RELOADED = "calendar.reloaded"


def local_only(topic: str) -> bool:
    return topic.startswith(("_", "bus."))


class EventHub:
    def __init__(self) -> None:
        self._handlers: list[tuple[str, Handler, bool]] = []
        # each socket's queue, with the filter it was opened with (None: every event)
        self._queues: dict[asyncio.Queue[Event], Callable[[Event], bool] | None] = {}
        self._sender: Callable[[Event], None] | None = None
        self.bus_stats: Callable[[], dict[str, Any]] | None = None  # the message bus's, when there is one

    def subscribe(self, prefix: str, handler: Handler, *, everywhere: bool = False) -> None:
        """``everywhere``: also the events other processes published (see the module's docstring)."""
        self._handlers.append((prefix, handler, everywhere))

    def unsubscribe(self, prefix: str, handler: Handler) -> None:
        self._handlers = [h for h in self._handlers if (h[0], h[1]) != (prefix, handler)]

    def attach(self, sender: Callable[[Event], None] | None) -> None:
        """The message bus's send (non-blocking, in order); None detaches it."""
        self._sender = sender

    def queue(self, maxsize: int = 1000, accept: Callable[[Event], bool] | None = None) -> asyncio.Queue[Event]:
        """A subscriber's queue. ``accept`` filters at publication (a plain call, no task woken): with
        hundreds of agent sockets open, an event reaches only the sockets it is for."""
        q: asyncio.Queue[Event] = asyncio.Queue(maxsize=maxsize)
        self._queues[q] = accept
        return q

    def drop_queue(self, q: asyncio.Queue[Event]) -> None:
        self._queues.pop(q, None)

    async def publish(self, event: Event) -> None:
        if self._sender is not None and not local_only(event.topic):
            self._sender(event)
        await self._deliver(event, remote=False)

    async def publish_local(self, event: Event) -> None:
        """To this process only (a follower's own view of something another process announced)."""
        await self._deliver(event, remote=False)

    async def deliver_remote(self, event: Event) -> None:
        """An event another process published (from the bus)."""
        await self._deliver(event, remote=True)

    def close_sockets(self) -> None:
        """Ends every WebSocket's pump (their pages reconnect and load a fresh snapshot): after the
        bus was lost, events may have been missed."""
        for q in list(self._queues):
            with contextlib.suppress(asyncio.QueueFull):
                q.put_nowait(Event("_closed", {"reason": "resync"}))

    async def _deliver(self, event: Event, *, remote: bool) -> None:
        for q, accept in list(self._queues.items()):
            if accept is not None and not accept(event):
                continue
            try:
                q.put_nowait(event)
            except asyncio.QueueFull:
                log.warning("event queue full; dropping a slow subscriber")
                self._queues.pop(q, None)
        for prefix, handler, everywhere in list(self._handlers):
            if event.topic.startswith(prefix) and (everywhere or not remote):
                try:
                    await handler(event)
                except Exception:
                    log.exception("event handler failed for %s", event.topic)

    async def publish_all(self, events: list[Event]) -> None:
        for e in events:
            await self.publish(e)


class Committable(Protocol):
    """What :func:`commit_and_publish` needs of a session (an ``AsyncSession`` has it)."""

    async def commit(self) -> None: ...


class Publisher(Protocol):
    async def publish_all(self, events: list[Event]) -> None: ...


async def commit_and_publish(session: Committable, hub: Publisher, events: Iterable[Event] = ()) -> None:
    """THE end of a unit of work: commit, then publish the domain events it produced (in order).

    If the commit raises, nothing is published. Services never call this; boundaries do.
    """
    pending = list(events)
    await session.commit()
    if pending:
        await hub.publish_all(pending)
