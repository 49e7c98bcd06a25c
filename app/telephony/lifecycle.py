"""Starts and stops the telephony side of the service: FastAGI server, AMI connections, consumer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agi_handlers.routes import ROUTE_TIMEOUTS, bind
from agi_handlers.server import AgiServer
from app.telephony.ami import AmiConnection, AmiError
from app.telephony.consumer import AmiConsumer
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
            "ami": {n: {"connected": c.connected, "logins": c.logins} for n, c in self.connections.items()},
            "agi": {
                "listening": bool(self.agi and self.agi.listening),
                "stats": self.agi.app.stats if self.agi and self.agi.app else {},
            },
            "consumer": self.consumer.stats(),
        }


@asynccontextmanager
async def telephony(rt: Runtime) -> AsyncIterator[None]:
    s = rt.settings
    state = TelephonyState()
    queue_platform = {q: p.code for p in rt.config.platforms for q in p.queues}
    consumer = AmiConsumer(rt.db, rt.hub, state, queue_platform)
    agi = (
        AgiServer(
            s.agi_host,
            s.agi_port,
            bind(rt),
            handler_timeout_s=s.agi_handler_timeout_s,
            route_timeouts=ROUTE_TIMEOUTS,
        )
        if s.agi_enabled
        else None
    )
    tel = Telephony(state=state, consumer=consumer, agi=agi)
    rt.components["telephony"] = tel
    consumer.start()
    if agi is not None:
        await agi.start()
    if s.ami_enabled:
        for server in s.asterisk:
            conn = AmiConnection(
                server,
                on_event=consumer.feed,
                on_login=consumer.resync,
                action_timeout_s=s.ami_action_timeout_s,
                ping_interval_s=s.ami_ping_interval_s,
            )
            tel.connections[server.name] = conn
            await conn.start()
        for conn in tel.connections.values():
            if not await conn.wait_connected(5.0):
                log.warning("AMI %s not reachable yet; will keep trying", conn.name)
                continue
            for _ in range(100):  # the first state snapshot, so routing starts with real queue state
                if conn.name in state.synced_servers:
                    break
                await asyncio.sleep(0.05)
    try:
        yield
    finally:
        for conn in tel.connections.values():
            await conn.close()
        if agi is not None:
            await agi.stop()
        await consumer.stop()
        await asyncio.sleep(0)
