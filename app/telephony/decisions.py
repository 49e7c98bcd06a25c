"""The DecisionSink port of the `incoming` AGI route: the call row is written after the reply.

In the single process, the decision joins the AMI consumer's ordered, batched writer; without AMI
(a service started with AMI off), it is written in a background task. In a FastAGI process of its
own nothing is written (CarriedByCall): the dialplan's HotlineRoute event brings the whole decision
to the server's AMI leader. The caller never waits (docs/adr/2026-12-04-decision-travels-with-the-call.md)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from agi_handlers.ports import DecisionRecord
from app.calls import service as calls
from app.telephony.lifecycle import TELEPHONY

if TYPE_CHECKING:
    from app.runtime import Runtime


class DecisionWriter:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._background: set[asyncio.Task[Any]] = set()

    def record(self, item: DecisionRecord) -> None:
        telephony = self.rt.get(TELEPHONY)
        if telephony is not None:
            telephony.consumer.feed_decision(item)
            return
        task = asyncio.create_task(self._write(item))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _write(self, item: DecisionRecord) -> None:
        async with self.rt.db.sessionmaker() as session:
            await calls.record_decision(session, **item)
            await session.commit()


class CarriedByCall:
    """The sink of `hotline agi`: the decision is the AMI leader's to write, from the HotlineRoute event
    the dialplan sends right after the reply. One writer per server's call rows: no second
    transaction per call on the routing process's loop, and none racing the leader's for the row."""

    def record(self, item: DecisionRecord) -> None:
        """Nothing to write here: the reply already handed the decision to the dialplan."""
