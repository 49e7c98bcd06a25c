"""Starts and stops the telephony side of the service: FastAGI server, AMI connections, consumer.

The AGI routes are given by the composition root (app.wiring), already bound to their ports: this
package serves them and never imports a route module."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agi_handlers.guard import AgiGuard
from agi_handlers.server import AgiServer, Endpoint
from app.events import Event
from app.observability.instruments import observe_agi, observe_ami_event
from app.observability.logging import call_scope
from app.pg import Leader, is_pg
from app.runtime import Key
from app.telephony.ami import AmiConnection, AmiError, event_mask
from app.telephony.consumer import AmiConsumer
from app.telephony.shared import SharedState
from app.telephony.state import TelephonyState

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass
class Telephony:
    state: TelephonyState
    consumer: AmiConsumer
    agi: AgiServer | None
    connections: dict[str, AmiConnection] = field(default_factory=dict)
    # servers whose AMI events this process consumes: all of them with one process (SQLite); on
    # PostgreSQL the servers whose leader election this process won (docs/adr/process-model.md)
    leading: set[str] = field(default_factory=set)
    leaders: dict[str, Leader] = field(default_factory=dict)
    shared: SharedState | None = None  # PostgreSQL: the state written by leaders, read by followers

    def connection_for(self, platform: str | None = None) -> AmiConnection:
        for conn in self.connections.values():
            if not conn.server.platforms or (platform and platform in conn.server.platforms):
                return conn
        if not self.connections:
            raise AmiError("no Asterisk server configured")
        return next(iter(self.connections.values()))

    async def action(
        self, action: dict[str, Any], *, platform: str | None = None, **kw: Any
    ) -> list[dict[str, str]]:
        return await self.connection_for(platform).action(action, **kw)

    def health(self) -> dict[str, Any]:
        return {
            "ami": {
                n: {"connected": c.connected, "logins": c.logins, "leader": n in self.leading, "events": c.event_mask}
                for n, c in self.connections.items()
            },
            "agi": {
                "listening": bool(self.agi and self.agi.listening),
                # (panoramisk's Application is a dict: an empty one is falsy, hence "is not None")
                "stats": dict(self.agi.app.stats) if self.agi and self.agi.app is not None else {},
                "routes": dict(self.agi.app.routes_served) if self.agi and self.agi.app is not None else {},
                "authenticated": bool(self.agi and self.agi.guard and self.agi.guard.keys),
            },
            "consumer": self.consumer.stats(),
            **({"shared_state": self.shared.stats()} if self.shared is not None else {}),
        }


def _with_call_id(name: str, endpoint: Any) -> Any:
    """Log lines written while an AGI route runs carry the call's uniqueid; one line per request says
    which route served the call and how long it took (the start of the call's story in the log)."""

    async def run(request: Any) -> None:
        with call_scope(request.headers.get("agi_uniqueid")):
            t0 = time.perf_counter()
            try:
                await endpoint(request)
            finally:
                # no caller number here: logs outlive the call records' access rules
                log.info("FastAGI %s: %.1f ms", name, (time.perf_counter() - t0) * 1000)

    return run


TELEPHONY: Key[Telephony] = Key("telephony")


async def _ask_events(conn: AmiConnection, leading: bool) -> None:
    """The session's event classes follow the process's role (docs/adr/2026-12-03-ami-event-mask.md).
    Asterisk not answering: the session is dropped, and its next login asks for the mask."""
    try:
        await conn.set_event_mask(event_mask(leading))
    except AmiError as e:
        log.warning("AMI %s: event mask %s not set (%s); reconnecting", conn.name, conn.event_mask, e)
        conn.reconnect()


def _ami_leader(rt: Runtime, tel: Telephony, conn: AmiConnection) -> Leader:
    """One consumer of this server's AMI events among all processes: the winner of ``ami:<server>``.
    A new leader asks for every event and then rebuilds the state from Asterisk itself (the resync a
    reconnect runs); a follower's session gets only the events its listeners need."""

    async def elected() -> None:
        tel.leading.add(conn.name)
        log.info("AMI %s: this process consumes its events now", conn.name)
        await _ask_events(conn, True)  # before the resync: nothing after its snapshot is missed
        if conn.connected:
            await tel.consumer.resync(conn)

    async def deposed() -> None:
        tel.leading.discard(conn.name)
        if leader.stopping:
            log.info("AMI %s: no longer consuming its events (shutting down)", conn.name)
            return
        log.warning("AMI %s: no longer consuming its events (leadership lost)", conn.name)
        await _ask_events(conn, False)
        if tel.shared is not None:
            tel.shared.load_soon()  # from now on the new leader's state

    leader = Leader(
        rt.settings.database_url, f"ami:{conn.name}", on_elected=elected, on_deposed=deposed,
        interval_s=rt.settings.leader_interval_s,
    )  # fmt: skip
    return leader


@asynccontextmanager
async def telephony(
    rt: Runtime,
    agi_routes: dict[str, Endpoint] | None = None,
    route_timeouts: dict[str, float] | None = None,
) -> AsyncIterator[None]:
    """Starter (composed in app.lifecycle): the FastAGI server serves ``agi_routes``."""
    s = rt.settings
    state = TelephonyState()
    queue_platform = {q: p.code for p in rt.config.platforms for q in p.queues}
    consumer = AmiConsumer(rt.db, rt.hub, state, queue_platform)
    agi = (
        AgiServer(
            s.agi_host,
            s.agi_port,
            {name: _with_call_id(name, fn) for name, fn in (agi_routes or {}).items()},
            handler_timeout_s=s.agi_handler_timeout_s,
            route_timeouts=route_timeouts,
            observer=observe_agi,
            backlog=s.agi_backlog,
            reuse_port=s.agi_reuse_port,
            guard=AgiGuard.of(
                s.agi_allowed_addresses or [a.ami_host for a in s.asterisk], [a.agi_secret for a in s.asterisk]
            ),
        )
        if s.agi_enabled
        else None
    )
    tel = Telephony(state=state, consumer=consumer, agi=agi)
    rt.put(TELEPHONY, tel)
    consumer.start()
    if agi is not None:
        await agi.start()
    elect = is_pg(s.database_url)

    def feed(server: str, ev: dict[str, str]) -> None:
        leading = server in tel.leading
        observe_ami_event(server, leading, ev.get("Event", ""))
        if leading:  # a follower's connection serves actions and listeners only
            consumer.feed(server, ev)

    async def logged_in(conn: AmiConnection) -> None:
        if conn.name in tel.leading:
            await consumer.resync(conn)

    status_tasks: set[asyncio.Task[None]] = set()

    def status(conn: AmiConnection) -> None:
        """This process's own session to the server came or went: its pages show the server's queues
        as unavailable (rather than the last state it had) until it is back (app.stats.service.live)."""
        event = Event("telephony.server", {"server": conn.name, "connected": conn.connected})
        t = asyncio.ensure_future(rt.hub.publish_local(event))
        status_tasks.add(t)
        t.add_done_callback(status_tasks.discard)

    if not elect:  # one process: it consumes every server's events, from the first login on
        tel.leading.update(server.name for server in s.asterisk)
    else:
        tel.shared = SharedState(rt, tel)
        tel.shared.start()
    if s.ami_enabled:
        for server in s.asterisk:
            conn = AmiConnection(
                server,
                on_event=feed,
                on_login=logged_in,
                on_status=status,
                action_timeout_s=s.ami_action_timeout_s,
                ping_interval_s=s.ami_ping_interval_s,
                event_mask=event_mask(leading=not elect),  # on PostgreSQL a follower until elected
            )
            tel.connections[server.name] = conn
            await conn.start()
        for conn in tel.connections.values():
            connected = await conn.wait_connected(5.0)
            if elect:
                tel.leaders[conn.name] = leader = _ami_leader(rt, tel, conn)
                await leader.start()
            if not connected:
                log.warning("AMI %s not reachable yet; will keep trying", conn.name)
                continue
            if conn.name not in tel.leading:
                continue
            for _ in range(100):  # the first state snapshot, so routing starts with real queue state
                if conn.name in state.synced_servers:
                    break
                await asyncio.sleep(0.05)
    if tel.shared is not None:
        await tel.shared.load()  # the servers another process leads (all of them without AMI)
    try:
        yield
    finally:
        for leader in tel.leaders.values():
            await leader.stop()
        if tel.shared is not None:
            await tel.shared.stop()
        for conn in tel.connections.values():
            await conn.close()
        if agi is not None:
            await agi.stop()
        await consumer.stop()
        await asyncio.sleep(0)
