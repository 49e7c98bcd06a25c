"""The message bus between the service's processes: PostgreSQL LISTEN/NOTIFY (docs/adr/process-model.md).

Every event a process publishes on its hub (app.events) is also sent here; every other process
receives it and hands it to its own WebSocket queues (and to the handlers subscribed with
``everywhere=True``). Delivery is at most once, like any pub/sub: when the listening connection is
lost (PostgreSQL restarted, a network cut) the bus reconnects with a short back-off and the hub
publishes ``bus.reconnected`` locally, so pages and followers reload what they show from the
database instead of trusting that nothing was missed.

A notification carries less than 8000 bytes: a larger event (a screen-pop with a long history) is
sent as numbered parts in one transaction (delivered together, in order) and put together again on
arrival. SQLite has one process and no bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from app.events import CALENDAR_RELOADED, Event
from app.pg import connect, is_pg

log = logging.getLogger(__name__)

CHANNEL = "hotline_events"
# the notices every process acts on, the FastAGI processes included (which listen to nothing else: the
# pages' events, the larger part of the traffic, would cost them decoding between two calls' routings)
CONTROL_CHANNEL = "hotline_control"
CONTROL_TOPICS = frozenset({"telephony.state", CALENDAR_RELOADED})
ALL_CHANNELS = (CHANNEL, CONTROL_CHANNEL)
MAX_NOTIFY = 7900  # bytes; PostgreSQL refuses payloads of 8000 and more
PART_CHARS = 1800  # characters of a large event per part (≤ 4 bytes each in UTF-8, plus the envelope)
MAX_BATCH = 256  # notifications sent in one round trip


def channel_of(event: Event) -> str:
    return CONTROL_CHANNEL if event.topic in CONTROL_TOPICS else CHANNEL


def encode(origin: str, event: Event, seq: int = 0) -> str:
    """One event as a notification's payload. ``seq`` keeps two equal events of one batch apart
    (PostgreSQL delivers identical notifications of one transaction once). The origin comes first, so
    a process knows its own notifications without decoding them."""
    return json.dumps(
        {"o": origin, "s": seq, "t": event.topic, "d": event.data}, ensure_ascii=False, default=str
    )


class PgBus:
    def __init__(
        self,
        url: str,
        deliver: Callable[[Event], Awaitable[None]],
        on_reconnect: Callable[[], Awaitable[None]],
        *,
        retry_s: float = 0.5,
        listen: tuple[str, ...] = ALL_CHANNELS,
    ) -> None:
        self.url = url
        self.listen = listen
        self.origin = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._own = json.dumps({"o": self.origin})[:-1] + ","  # how this process's payloads begin
        self._deliver = deliver
        self._on_reconnect = on_reconnect
        self.retry_s = retry_s
        self.sent = 0
        self.received = 0
        self.dropped = 0
        self.reconnects = 0
        self._listen: Any = None
        self._send: Any = None
        self._outbox: asyncio.Queue[Event] = asyncio.Queue(maxsize=10000)
        self._incoming: asyncio.Queue[str] = asyncio.Queue()
        self._lost = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._seq = 0
        self._parts: dict[tuple[str, int], list[str]] = {}  # large events being put together

    @property
    def connected(self) -> bool:
        return self._listen is not None and not self._listen.is_closed()

    async def start(self) -> None:
        await self._connect_listener()
        self._tasks = [
            asyncio.create_task(self._keep_listening(), name="bus-listen"),
            asyncio.create_task(self._sender(), name="bus-send"),
            asyncio.create_task(self._receiver(), name="bus-receive"),
        ]

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        for conn in (self._listen, self._send):
            if conn is not None:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(2):
                        await conn.close()
        self._listen = self._send = None

    # --- sending: in publication order, from one connection (NOTIFYs from one session keep order)
    def send(self, event: Event) -> None:
        try:
            self._outbox.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("bus: outbox full; event %s not sent to the other processes", event.topic)

    async def _sender(self) -> None:
        """What was published meanwhile goes together: in one round trip and one transaction, so in
        order and delivered together (a burst of calls costs a few round trips, not one per event)."""
        while True:
            batch = [await self._outbox.get()]
            while len(batch) < MAX_BATCH and not self._outbox.empty():
                batch.append(self._outbox.get_nowait())
            try:
                await self._notify_all(batch)
                self.sent += len(batch)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                self.dropped += len(batch)
                topics = sorted({ev.topic for ev in batch})
                log.warning("bus: %s not sent to the other processes: %s", ", ".join(topics)[:200], e)
                conn, self._send = self._send, None
                if conn is not None:
                    conn.terminate()

    async def _notify_all(self, events: list[Event]) -> None:
        if self._send is None or self._send.is_closed():
            self._send = await connect(self.url, timeout=5)
        run: list[tuple[str, str]] = []  # small notifications not sent yet, in order
        for event in events:
            self._seq += 1
            payload = encode(self.origin, event, self._seq)
            channel = channel_of(event)
            if len(payload.encode("utf-8")) <= MAX_NOTIFY:
                run.append((channel, payload))
                continue
            await self._notify_run(run)  # (rare: a screen-pop with a long history) in its place
            run = []
            await self._notify_parts(payload, channel)
        await self._notify_run(run)

    async def _notify_run(self, run: list[tuple[str, str]]) -> None:
        if len(run) == 1:
            await self._send.execute("SELECT pg_notify($1, $2)", *run[0])
        elif run:  # pipelined by asyncpg, in one transaction
            await self._send.executemany("SELECT pg_notify($1, $2)", run)

    async def _notify_parts(self, payload: str, channel: str) -> None:
        self._seq += 1
        chunks = [payload[i : i + PART_CHARS] for i in range(0, len(payload), PART_CHARS)]
        async with self._send.transaction():  # delivered together at commit, in this order
            for i, chunk in enumerate(chunks):
                part = {"o": self.origin, "m": self._seq, "i": i, "n": len(chunks), "p": chunk}
                await self._send.execute(
                    "SELECT pg_notify($1, $2)", channel, json.dumps(part, ensure_ascii=False)
                )

    # --- receiving
    async def _connect_listener(self) -> None:
        conn = await connect(self.url, timeout=5, server_settings={"application_name": "hotline-bus"})
        self._lost.clear()
        conn.add_termination_listener(lambda _c: self._lost.set())
        for channel in self.listen:
            await conn.add_listener(channel, lambda _c, _pid, _ch, payload: self._incoming.put_nowait(payload))
        self._listen = conn

    async def _keep_listening(self) -> None:
        """Watches the listening connection; reconnects when it is lost, then says so."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._lost.wait()
            conn = self._listen
            alive = False
            if conn is not None and not conn.is_closed() and not self._lost.is_set():
                try:
                    async with asyncio.timeout(2.0):
                        await conn.fetchval("SELECT 1")
                    alive = True
                except Exception:  # noqa: BLE001 - any failure means: reconnect
                    alive = False
            if alive:
                continue
            log.warning("bus: listening connection lost; reconnecting")
            self._listen = None
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.terminate()
            while True:
                try:
                    await self._connect_listener()
                    break
                except asyncio.CancelledError:
                    raise
                except Exception as e:  # noqa: BLE001
                    log.warning("bus: reconnect failed (%s); retrying in %.1f s", e, self.retry_s)
                    await asyncio.sleep(self.retry_s)
            self.reconnects += 1
            log.info("bus: listening again (reconnect #%d)", self.reconnects)
            try:
                await self._on_reconnect()
            except Exception:
                log.exception("bus: reconnect handler failed")

    async def _receiver(self) -> None:
        while True:
            payload = await self._incoming.get()
            try:
                event = await self._decode(payload)
            except Exception:
                log.exception("bus: undecodable message dropped")
                continue
            if event is None:
                continue
            self.received += 1
            try:
                await self._deliver(event)
            except Exception:
                log.exception("bus: delivering %s failed", event.topic)

    async def _decode(self, payload: str) -> Event | None:
        if payload.startswith(self._own):
            return None  # our own: delivered locally when published (not even decoded)
        msg = json.loads(payload)
        if msg.get("o") == self.origin:
            return None
        if "m" in msg:
            key = (str(msg["o"]), int(msg["m"]))
            if msg["i"] == 0:
                for stale in [k for k in self._parts if k[0] == key[0]]:
                    del self._parts[stale]  # a sender's parts arrive together: older ones are lost
                self._parts[key] = []
            parts = self._parts.get(key)
            if parts is None or len(parts) != msg["i"]:
                return None
            parts.append(str(msg["p"]))
            if len(parts) < msg["n"]:
                return None
            msg = json.loads("".join(self._parts.pop(key)))
        return Event(str(msg["t"]), dict(msg.get("d") or {}))

    def stats(self) -> dict[str, Any]:
        return {
            "connected": self.connected, "sent": self.sent, "received": self.received,
            "dropped": self.dropped, "reconnects": self.reconnects,
        }  # fmt: skip


async def announce(url: str, event: Event) -> None:
    """One small event from outside the service (a CLI command) to every running process; raises when
    PostgreSQL cannot be reached."""
    conn = await connect(url, timeout=5)
    try:
        await conn.execute("SELECT pg_notify($1, $2)", channel_of(event), encode(f"cli-{os.getpid()}", event))
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def message_bus(runtime: Any, listen: tuple[str, ...] = ALL_CHANNELS) -> AsyncIterator[None]:
    """STARTERS entry: on PostgreSQL, joins the hub to the other processes. After the bus was lost
    and is back, ``bus.reconnected`` goes to this process's components and every WebSocket of this
    process is ended, so its page reconnects and loads a fresh snapshot (hotline.js reconnects)."""
    url = runtime.settings.database_url
    if not is_pg(url):
        yield
        return
    hub = runtime.hub

    async def reconnected() -> None:
        await hub.publish_local(Event("bus.reconnected"))
        hub.close_sockets()

    bus = PgBus(url, hub.deliver_remote, reconnected, listen=listen)
    await bus.start()
    hub.attach(bus.send)
    hub.bus_stats = bus.stats
    try:
        yield
    finally:
        hub.attach(None)
        hub.bus_stats = None
        await bus.stop()
