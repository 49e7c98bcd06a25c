"""The DecisionSink port of the `incoming` AGI route: the call row is written after the reply.

With telephony running, the decision joins the AMI consumer's ordered, batched writer; without it (a
service started with AMI off), it is written in a background task. The caller never waits."""

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
