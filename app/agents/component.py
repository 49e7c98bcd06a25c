"""Agents' background work: builds each screen-pop once (on AgentCalled) and publishes it, runs
wrap-up (话后处理) after AgentComplete, and re-applies agents' sessions after every resync."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from app.agents import screenpop, service
from app.events import Event
from app.runtime import Key
from app.telephony.ami import AmiError
from app.telephony.lifecycle import TELEPHONY

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger(__name__)


class Agents:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.last_pop: dict[str, dict[str, Any]] = {}  # member name or interface -> latest screen-pop
        self._tasks: set[asyncio.Task[Any]] = set()
        self._wrapups: dict[str, asyncio.Task[None]] = {}
        self._enforced_until: dict[str, float] = {}  # interface -> monotonic end of Asterisk's wrapuptime

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
            queue, iface = ev.data.get("queue"), ev.data.get("interface")
            if self.wrapup_s(queue) > 0 and iface:
                enforced = self.rt.config.wrapup_for_queue(str(queue)) if queue else 0
                if enforced > 0:
                    self._enforced_until[str(iface)] = time.monotonic() + enforced
                self.start_wrapup(str(iface), self.wrapup_s(queue), ev.data.get("server"))
        elif ev.topic == "telephony.resync":
            self._spawn(service.restore(self.rt, str(ev.data.get("server"))))

    async def on_screenpop(self, ev: Event) -> None:
        """Screen-pops built in another process (the AMI leader's): this process's agent page shows
        the latest one too when it reloads (GET /api/agent/screenpop)."""
        for key in (ev.data.get("member"), ev.data.get("interface")):
            if key:
                self.last_pop[key] = ev.data

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

    def wrapup_s(self, queue: str | None) -> int:
        """话后处理 after a call from this queue: the platform configuration's (Asterisk's queues.conf
        wrapuptime enforces it too, so no call races the pause below), else the backend's setting."""
        configured = self.rt.config.wrapup_for_queue(queue) if queue else 0
        return configured or self.rt.settings.wrapup_s

    def enforced_left(self, iface: str) -> float:
        """Seconds of the wrap-up Asterisk still enforces on this phone (queues.conf wrapuptime): the
        agent cannot end it early, so the desktop keeps showing 话后处理 (0: none)."""
        left = self._enforced_until.get(iface, 0.0) - time.monotonic()
        if left <= 0:
            self._enforced_until.pop(iface, None)
        return max(0.0, left)

    def start_wrapup(self, iface: str, seconds: int | None = None, server: str | None = None) -> None:
        old = self._wrapups.pop(iface, None)
        if old:
            old.cancel()
        self._wrapups[iface] = self._spawn(self._wrapup(iface, seconds or self.rt.settings.wrapup_s, server))

    async def _wrapup(self, iface: str, seconds: int, server: str | None = None) -> None:
        """Pause the agent (reason 话后处理) for the wrap-up time, then unpause them unless someone else
        changed the pause meanwhile (the agent or a supervisor chose another reason). The decision does
        not wait for our own pause to show in the live state: after an attended transfer Asterisk sends a
        burst of events and the state could still say "not paused" when the time was up; the agent then
        stayed 话后处理 for good (the pause arrived after we had decided not to unpause)."""
        tel = self.rt.require(TELEPHONY)
        members = service.members_of(tel.state, iface)
        if not members:
            return
        # the server that reported the call's end holds this member; a queue name alone may name a queue
        # on each of two servers
        conn = tel.connections.get(server or "") or tel.connections.get(
            tel.state.queues[members[0].queue].server
        )
        if conn is None:
            return
        try:
            await conn.action(service.pause_action(iface, True, service.WRAPUP))
            await asyncio.sleep(seconds)
            members = service.members_of(tel.state, iface)
            if members and not any(m.paused and m.reason != service.WRAPUP for m in members):
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


AGENTS: Key[Agents] = Key("agents")


@asynccontextmanager
async def agents(rt: Runtime) -> AsyncIterator[None]:
    comp = Agents(rt)
    rt.put(AGENTS, comp)
    for prefix in ("agent.called", "agent.connect", "agent.complete", "telephony.resync"):
        rt.hub.subscribe(prefix, comp.on_event)
    rt.hub.subscribe("agent.screenpop", comp.on_screenpop, everywhere=True)
    tel = rt.get(TELEPHONY)
    for name, conn in tel.connections.items() if tel is not None else []:
        if conn.connected:  # logged in before we subscribed: its resync event went by
            comp._spawn(service.restore(rt, name))
    try:
        yield
    finally:
        await comp.close()
        rt.drop(AGENTS)
