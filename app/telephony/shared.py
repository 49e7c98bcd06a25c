"""Live queue/agent state shared between processes (PostgreSQL; docs/adr/process-model.md).

Only the AMI leader of a server keeps that server's state from its events. After every change it
writes the server's state to ``telephony_live_state`` (one row per server; writes coalesce while one
is under way) and publishes ``telephony.state`` on the bus. Every other process (HTTP workers, the
FastAGI process) loads the row on that notice, at its start and after the bus reconnected, and then
publishes ``telephony.live`` to its own pages (the agent desktop and the wallboard redraw on it).
Reading the row rather than replaying events means a follower that missed notices is right again
with the next one."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from app.db import utcnow
from app.events import Event, commit_and_publish
from app.telephony.models import LiveState

if TYPE_CHECKING:
    from app.runtime import Runtime
    from app.telephony.lifecycle import Telephony

log = logging.getLogger(__name__)
QUIET = ("telephony.state", "telephony.live", "telephony.server", "bus.", "_")  # topics that never change the state


class SharedState:
    def __init__(self, rt: Runtime, tel: Telephony) -> None:
        self.rt = rt
        self.tel = tel
        self.written: dict[str, str] = {}
        self.writes = 0
        self.loads = 0
        self._write_due = asyncio.Event()
        self._load_due: set[str | None] = set()  # None: every server
        self._load_wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        hub = self.rt.hub
        hub.subscribe("", self.on_local)
        hub.subscribe("telephony.state", self.on_notice, everywhere=True)
        hub.subscribe("bus.reconnected", self.on_notice)
        self._tasks = [
            asyncio.create_task(self._writer(), name="live-state-writer"),
            asyncio.create_task(self._loader(), name="live-state-loader"),
        ]

    async def stop(self) -> None:
        hub = self.rt.hub
        hub.unsubscribe("", self.on_local)
        hub.unsubscribe("telephony.state", self.on_notice)
        hub.unsubscribe("bus.reconnected", self.on_notice)
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- the leader's side
    async def on_local(self, ev: Event) -> None:
        if self.tel.leading and not ev.topic.startswith(QUIET):
            self._write_due.set()

    def changed(self) -> None:
        """The state of a server this process leads changed outside an event (a resync)."""
        self._write_due.set()

    async def _writer(self) -> None:
        while True:
            await self._write_due.wait()
            self._write_due.clear()
            try:
                await self.write()
            except Exception:
                log.exception("writing the live state failed; retrying on the next change")
                await asyncio.sleep(0.5)
                self._write_due.set()

    async def write(self) -> None:
        for server in sorted(self.tel.leading):
            text = json.dumps(self.tel.state.dump_server(server), ensure_ascii=False, sort_keys=True)
            if self.written.get(server) == text:
                continue
            async with self.rt.db.sessionmaker() as session:
                row = await session.get(LiveState, server)
                if row is None:
                    row = LiveState(server=server, version=0, snapshot=text)
                    session.add(row)
                row.version += 1
                row.snapshot, row.updated_at = text, utcnow()
                notice = Event("telephony.state", {"server": server, "version": row.version})
                await commit_and_publish(session, self.rt.hub, [notice])
            self.written[server] = text
            self.writes += 1

    # --- the followers' side
    async def on_notice(self, ev: Event) -> None:
        server = ev.data.get("server") if ev.topic == "telephony.state" else None
        if server is not None and server in self.tel.leading:
            return
        self._load_due.add(server)
        self._load_wake.set()

    def load_soon(self) -> None:
        self._load_due.add(None)
        self._load_wake.set()

    async def _loader(self) -> None:
        while True:
            await self._load_wake.wait()
            self._load_wake.clear()
            due, self._load_due = self._load_due, set()
            try:
                await self.load(None if None in due else {s for s in due if s is not None})
            except Exception:
                log.exception("loading the live state failed; retrying")
                await asyncio.sleep(0.5)
                self._load_due |= due
                self._load_wake.set()

    async def load(self, servers: set[str] | None = None) -> list[str]:
        """Loads the rows of the servers this process does not lead; returns the servers loaded."""
        q = select(LiveState)
        if servers is not None:
            q = q.where(LiveState.server.in_(sorted(servers)))
        async with self.rt.db.read_sessionmaker() as session:
            rows = list(await session.scalars(q))
        loaded: list[tuple[str, list[str]]] = []
        for row in rows:
            if row.server in self.tel.leading:
                continue
            data: dict[str, Any] = json.loads(row.snapshot)
            before = self._members(row.server)
            self.tel.state.load_server(row.server, data)
            after = self._members(row.server)
            changed = sorted(i for i in before.keys() | after.keys() if before.get(i) != after.get(i))
            self.written.pop(row.server, None)  # a later leadership writes its own state in full
            loaded.append((row.server, changed))
        if loaded:
            self.loads += 1
        for server, changed in loaded:
            # the interfaces whose membership or state changed: an agent's socket wakes for its own
            await self.rt.hub.publish_local(Event("telephony.live", {"server": server, "interfaces": changed}))
        return [server for server, _ in loaded]

    def _members(self, server: str) -> dict[str, list[tuple[str, str, bool, str]]]:
        out: dict[str, list[tuple[str, str, bool, str]]] = {}
        for q in self.tel.state.queues.values():
            if q.server == server:
                for m in q.members.values():
                    out.setdefault(m.interface, []).append((q.name, m.status, m.paused, m.reason))
        return {i: sorted(v) for i, v in out.items()}

    def stats(self) -> dict[str, Any]:
        return {"writes": self.writes, "loads": self.loads}
