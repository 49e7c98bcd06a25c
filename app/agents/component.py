"""Agents' background work: builds each screen-pop once (on AgentCalled) and publishes it, runs
wrap-up (话后处理) after AgentComplete, and re-applies agents' sessions after every resync."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from app.agents import screenpop, service
from app.events import Event
from app.telephony.ami import AmiError

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger(__name__)


class Agents:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.last_pop: dict[str, dict[str, Any]] = {}  # member name or interface -> latest screen-pop
        self._tasks: set[asyncio.Task[Any]] = set()
        self._wrapups: dict[str, asyncio.Task[None]] = {}

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        t = asyncio.create_task(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)
        return t

    async def on_event(self, ev: Event) -> None:
        if ev.topic == "agent.called":
            self._spawn(self._pop(ev.data))
        elif ev.topic == "agent.connect":
            for key in (ev.data.get("member"), ev.data.get("interface")):
                pop = self.last_pop.get(key or "")
                if pop and pop.get("uniqueid") == ev.data.get("uniqueid"):
                    pop["form"]["call_uniqueid"] = pop["uniqueid"]
                    pop["bound"] = True
        elif ev.topic == "agent.complete":
            if self.rt.settings.wrapup_s > 0 and ev.data.get("interface"):
                self.start_wrapup(str(ev.data["interface"]))
        elif ev.topic == "telephony.resync":
            self._spawn(service.restore(self.rt, str(ev.data.get("server"))))

    async def _pop(self, data: dict[str, Any]) -> None:
        try:
            async with self.rt.db.sessionmaker() as session:
                pop = await screenpop.build(self.rt, session, data)
        except Exception:
            log.exception("building the screen-pop failed for %r", data)
            return
        pop["member"], pop["interface"] = data.get("member"), data.get("interface")
        for key in (data.get("member"), data.get("interface")):
            if key:
                self.last_pop[key] = pop
        await self.rt.hub.publish(Event("agent.screenpop", pop))

    def start_wrapup(self, iface: str) -> None:
        old = self._wrapups.pop(iface, None)
        if old:
            old.cancel()
        self._wrapups[iface] = self._spawn(self._wrapup(iface))

    async def _wrapup(self, iface: str) -> None:
        tel = self.rt.components["telephony"]
        members = service.members_of(tel.state, iface)
        if not members:
            return
        conn = tel.connections.get(tel.state.queues[members[0].queue].server)
        if conn is None:
            return
        try:
            await conn.action(service.pause_action(iface, True, service.WRAPUP))
            await asyncio.sleep(self.rt.settings.wrapup_s)
            members = service.members_of(tel.state, iface)
            if members and all(m.paused and m.reason == service.WRAPUP for m in members):
                await conn.action(service.pause_action(iface, False))
        except AmiError as e:
            log.warning("wrap-up of %s: %s", iface, e)
        finally:
            if self._wrapups.get(iface) is asyncio.current_task():
                del self._wrapups[iface]

    async def close(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


@asynccontextmanager
async def agents(rt: Runtime) -> AsyncIterator[None]:
    comp = Agents(rt)
    rt.components["agents"] = comp
    for prefix in ("agent.called", "agent.connect", "agent.complete", "telephony.resync"):
        rt.hub.subscribe(prefix, comp.on_event)
    tel = rt.components.get("telephony")
    for name, conn in tel.connections.items() if tel is not None else []:
        if conn.connected:  # logged in before we subscribed: its resync event went by
            comp._spawn(service.restore(rt, name))
    try:
        yield
    finally:
        await comp.close()
