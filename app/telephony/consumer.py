"""Consumes AMI events in arrival order: batches them into one transaction, commits, then publishes.

Events from every configured Asterisk server go through one queue; handlers come from SUBSCRIPTIONS.
After every (re)login the server's queue state is rebuilt from QueueStatus, and calls Asterisk no
longer knows (CoreShowChannels) are closed, because events sent while disconnected are lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from agi_handlers.ports import DecisionRecord
from app.calls import models as cm
from app.calls import service as calls_service
from app.calls.cdr import CdrReconciler, import_rows
from app.db import Database, utcnow
from app.events import Event, EventHub
from app.observability.logging import call_scope
from app.telephony.ami import AmiConnection, AmiError
from app.telephony.handlers import DECISION_EVENT, USER_EVENTS, Ctx
from app.telephony.state import TelephonyState
from app.telephony.subscriptions import SUBSCRIPTIONS

log = logging.getLogger(__name__)
ID_FIELDS = ("Uniqueid", "Linkedid", "DestUniqueid", "DestLinkedid")
CDR_IMPORT = "HotlineCdrImport"  # synthetic inbox item: calls from Asterisk's CDR the backend never saw
RESYNC = "HotlineResync"  # synthetic inbox item: apply a QueueStatus/CoreShowChannels snapshot here
RESYNC_WAIT_S = 120.0  # longest a marker can hold the inbox (all attempts time out: ~4 × 20 s + back-off)


RESYNC_ATTEMPTS = 4  # QueueStatus/CoreShowChannels after a login, retried while the connection is up


class AmiConsumer:
    def __init__(
        self,
        db: Database,
        hub: EventHub,
        state: TelephonyState,
        queue_platform: dict[str, str],
        batch_max: int = 500,
    ) -> None:
        self.db = db
        self.hub = hub
        self.state = state
        self.queue_platform = queue_platform
        self.batch_max = batch_max
        self.inbox: asyncio.Queue[tuple[str, dict[str, Any], float]] = asyncio.Queue()
        self.processed = 0
        self.failed = 0
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    def feed(self, server: str, ev: dict[str, str]) -> None:
        name = ev.get("Event")
        if name in SUBSCRIPTIONS and (name != "UserEvent" or ev.get("UserEvent") in USER_EVENTS):
            self._idle.clear()
            self.inbox.put_nowait((server, ev, time.time()))

    def feed_decision(self, item: DecisionRecord) -> None:
        """The FastAGI route's routing decision, written by the same ordered, batched writer as the
        call's AMI events (one writer: no lock contention with them)."""
        self._idle.clear()
        self.inbox.put_nowait((item["server"], {"Event": DECISION_EVENT, "_item": item}, time.time()))

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def drained(self, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            await self._idle.wait()

    async def _run(self) -> None:
        while True:
            batch = [await self.inbox.get()]
            while len(batch) < self.batch_max and not self.inbox.empty():
                batch.append(self.inbox.get_nowait())
            try:
                await self.process(batch)
            except Exception:
                log.exception("AMI batch of %d events failed", len(batch))
                self.failed += len(batch)
            if self.inbox.empty():
                self._idle.set()

    async def process(self, batch: list[tuple[str, dict[str, Any], float]]) -> None:
        """A resync marker in the batch first waits for its snapshot (outside any transaction).

        Fast path: the whole batch in one transaction without a savepoint per event. If any handler
        fails, the batch is rolled back and redone with one savepoint per event, so one bad event costs
        only itself (handlers' live-state updates are idempotent: set/pop by key)."""
        for _, ev, _ in batch:
            if ev["Event"] == RESYNC and not ev["_snapshot"].done():
                try:
                    async with asyncio.timeout(RESYNC_WAIT_S):
                        await asyncio.shield(ev["_snapshot"])
                except TimeoutError:
                    log.error("resync snapshot never came; the marker is dropped")
        try:
            out = await self._run_batch(batch, savepoints=False)
        except Exception:
            log.warning("AMI batch of %d failed on the fast path; redoing it event by event", len(batch))
            out = await self._run_batch(batch, savepoints=True)
        for _server, ev, _ in batch:
            if ev["Event"] == CDR_IMPORT:
                ev["_reconciler"].commit(ev["_offset"])
        self.processed += len(batch)
        await self.hub.publish_all(out)

    async def _run_batch(
        self, batch: list[tuple[str, dict[str, Any], float]], savepoints: bool
    ) -> list[Event]:
        out: list[Event] = []
        async with self.db.sessionmaker() as session:
            ids: set[str] = set()
            for _, ev, _ in batch:
                ids.update(ev[k] for k in ID_FIELDS if ev.get(k))
                item = ev.get("_item")
                if isinstance(item, dict) and item.get("uniqueid"):
                    ids.add(item["uniqueid"])
            session.autoflush = False  # one flush at commit; lookups go through the preloaded cache
            await calls_service.preload(session, ids)
            for server, ev, received in batch:
                if ev["Event"] == RESYNC:
                    await self._apply_resync(session, server, ev["_snapshot"], out)
                    continue
                if ev["Event"] == CDR_IMPORT:
                    n = await import_rows(session, ev["_rows"], server, self.queue_platform)
                    if n:
                        log.warning("AMI %s: %d call(s) reconciled from the CDR", server, n)
                        out.append(Event("calls.reconciled", {"server": server, "count": n}))
                    continue
                cx = Ctx(self.state, session, self.queue_platform, out, received)
                handler = SUBSCRIPTIONS[ev["Event"]]
                with call_scope(ev.get("Uniqueid") or ev.get("Linkedid")):
                    if not savepoints:
                        await handler(cx, server, ev)
                        continue
                    try:
                        async with session.begin_nested():
                            await handler(cx, server, ev)
                    except Exception:
                        log.exception("AMI handler for %s failed: %r", ev.get("Event"), ev)
                        self.failed += 1
            await session.commit()
        return out

    async def resync(self, conn: AmiConnection) -> None:
        """Rebuild this server's state from Asterisk itself (after start and every reconnect).

        The marker takes its place in the ordered inbox *before* QueueStatus is sent, and the
        consumer applies the snapshot there once it has arrived. Every event received after that
        point is applied on top of the snapshot, so none is wiped by it (a QueueMemberAdded that
        arrived while the answer was on its way was lost when the marker was queued after the
        answer); an event the snapshot already reflects is applied again, which the handlers'
        set/pop-by-key updates make harmless."""
        snapshot: asyncio.Future[tuple[list[dict[str, str]], set[str]] | None]
        snapshot = asyncio.get_running_loop().create_future()
        self._idle.clear()
        self.inbox.put_nowait((conn.name, {"Event": RESYNC, "_snapshot": snapshot}, time.time()))
        try:
            snapshot.set_result(await self._take_snapshot(conn))
        finally:
            if not snapshot.done():  # cancelled (closing): release the waiting consumer
                snapshot.set_result(None)

    async def _take_snapshot(self, conn: AmiConnection) -> tuple[list[dict[str, str]], set[str]] | None:
        for attempt in range(1, RESYNC_ATTEMPTS + 1):
            try:
                status = await conn.action({"Action": "QueueStatus"}, as_list=True, timeout=10)
                channels = await conn.action({"Action": "CoreShowChannels"}, as_list=True, timeout=10)
                break
            except AmiError:
                # a just-restarted or overloaded Asterisk may not answer in time: one failure must
                # not leave the state stale until the next reconnect
                if attempt == RESYNC_ATTEMPTS or not conn.connected:
                    log.exception("resync of %s failed (attempt %d)", conn.name, attempt)
                    return None
                log.warning("resync of %s: attempt %d timed out; retrying", conn.name, attempt)
                await asyncio.sleep(attempt)
        cdr = conn.server.cdr_csv
        if cdr is not None:
            reconciler = CdrReconciler(Path(cdr), Path(str(cdr) + ".imported-offset"))
            rows, offset = await asyncio.to_thread(reconciler.read_new)
            self._idle.clear()
            self.inbox.put_nowait(
                (
                    conn.name,
                    {
                        "Event": CDR_IMPORT,
                        "_rows": rows,
                        "_offset": offset,
                        "_reconciler": reconciler,
                    },
                    time.time(),
                )
            )
        live = {m.get("Uniqueid", "") for m in channels if m.get("Event") == "CoreShowChannel"}
        live |= {m.get("Linkedid", "") for m in channels if m.get("Event") == "CoreShowChannel"}
        return status, live

    async def _apply_resync(self, session: Any, server: str, snapshot: Any, out: list[Event]) -> None:
        taken = snapshot.result() if snapshot.done() else None
        if taken is None:
            return  # the snapshot failed: the state stays as events left it until the next login
        status, live = taken
        self.state.replace_server(server, status)
        open_calls = await session.scalars(
            select(cm.Call).where(
                cm.Call.server == server, cm.Call.ended_at.is_(None), cm.Call.direction == "in"
            )
        )
        closed = 0
        for call in open_calls:
            if call.uniqueid not in live and call.linkedid not in live:
                call.ended_at = utcnow()
                call.hangup_cause = "ended while AMI was disconnected"
                if call.outcome in (cm.QUEUED, cm.IN_PROGRESS):
                    call.outcome = cm.ABANDONED if call.outcome == cm.QUEUED else cm.UNANSWERED
                elif call.outcome == cm.ANSWERED:
                    call.outcome = cm.COMPLETED
                closed += 1
        log.info(
            "AMI %s resynced: %d queues, %d live channels, %d stale calls closed",
            server,
            len(self.state.queues),
            len(live),
            closed,
        )
        out.append(Event("telephony.resync", {"server": server}))

    def stats(self) -> dict[str, Any]:
        return {"processed": self.processed, "failed": self.failed, "backlog": self.inbox.qsize()}
