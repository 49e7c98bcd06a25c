"""Callers' hang-ups and the transfers they end, on SQLite and PostgreSQL (no Asterisk: the hang-up
events the AMI consumer publishes). Every call ends, almost none during a transfer: a burst of hang-ups
is checked in a few reads, and the one call whose transfer was still ringing gets it ended and its
transferring agent told."""

from __future__ import annotations

import asyncio

from sqlalchemy import event, select

from app.events import Event
from app.transfers import models as tm
from app.transfers.component import TRANSFERS
from app.transfers.models import CallTransfer
from tests.integration.test_cases_helpers import world


def _leg(xfer_id: str, uniqueid: str, status: str) -> CallTransfer:
    return CallTransfer(
        xfer_id=xfer_id, call_uniqueid=uniqueid, mode="blind", kind="queue", target="q-dali", label="大理",
        to_platform="dali", from_user="km.agent", from_platform="kunming", from_interface="PJSIP/agent-1001",
        status=status,
    )  # fmt: skip


async def test_a_burst_of_hang_ups_ends_only_the_unfinished_transfer_in_a_few_reads(tmp_path, db_url):
    async with world(tmp_path, db_url) as w:
        rt = w.runtime
        async with w.session() as s:
            s.add_all([_leg("x-open", "u-150", tm.RINGING), _leg("x-done", "u-151", tm.COMPLETED)])
            await s.commit()
        told: list[Event] = []

        async def tell(ev: Event) -> None:
            told.append(ev)

        rt.hub.subscribe("agent.transfer", tell)
        reads: list[str] = []

        def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
            if statement.lstrip().upper().startswith("SELECT") and "call_transfers" in statement:
                reads.append(statement)

        event.listen(rt.db.engine.sync_engine, "before_cursor_execute", count)
        comp = rt.require(TRANSFERS)
        for i in range(300):  # 300 callers hang up at once; u-150's transfer to 大理 was still ringing
            await comp.on_event(Event("call.ended", {"uniqueid": f"u-{i}"}))
        for _ in range(200):
            if any(ev.data.get("status") == tm.ABANDONED for ev in told) and not comp._tasks:
                break
            await asyncio.sleep(0.05)
        event.remove(rt.db.engine.sync_engine, "before_cursor_execute", count)

        assert [(ev.data["id"], ev.data["member"], ev.data["message"]) for ev in told] == [
            ("x-open", "km.agent", "转接至 大理：来电方已挂机，转接结束")
        ]
        async with w.session() as s:
            legs = {t.xfer_id: t for t in await s.scalars(select(CallTransfer))}
        assert legs["x-open"].status == tm.ABANDONED and legs["x-open"].ended_at is not None
        assert legs["x-done"].status == tm.COMPLETED  # finished before: untouched
        # one read per burst, not one per hang-up (300 reads kept opening connections beyond the pool)
        assert 1 <= len(reads) <= 10, len(reads)
