"""Call-backs in the background: the Originate of each is awaited (its answer comes only when the
agent's phone answered or failed), and the row follows the AMI events of the call (outbound.*).
A boundary: commits each step, then publishes ``callback.updated``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from app.callbacks import models as cbm
from app.callbacks import service
from app.callbacks.models import Callback
from app.events import Event
from app.runtime import Key
from app.telephony.ami import AmiConnection, AmiError
from app.telephony.originate import originate_and_wait

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger(__name__)
TOPICS = ("outbound.",)  # what the component follows (AMI events of hl-out-* calls)


def updated(out: dict[str, Any]) -> Event:
    return Event("callback.updated", out)


class Callbacks:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        t = asyncio.create_task(coro)
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)
        return t

    async def update(self, channel_id: str, status: str, detail: str | None = None) -> None:
        async with self.rt.db.sessionmaker() as session:
            cb = await service.advance(session, channel_id, status, detail)
            if cb is None:
                return
            await session.commit()
            out = service.callback_out(cb)
        await self.rt.hub.publish(updated(out))

    async def follow(self, conn: AmiConnection, channel_id: str, action: dict[str, Any]) -> None:
        """OriginateResponse arrives only when the agent's phone answered or failed: wait for it."""
        try:
            res = await originate_and_wait(conn, action)
            await self.update(channel_id, cbm.DIALING if res.ok else cbm.FAILED,
                              None if res.ok else f"坐席话机未接听 ({res.reason})")  # fmt: skip
        except AmiError as e:
            await self.update(channel_id, cbm.FAILED, str(e)[:250])

    async def on_event(self, ev: Event) -> None:
        if ev.topic == "outbound.dial_end":
            status = cbm.CONNECTED if ev.data.get("status") == "ANSWER" else cbm.FAILED
            detail = None if status == cbm.CONNECTED else f"市民未接听 ({ev.data.get('status')})"
            self.spawn(self.update(str(ev.data["linkedid"]), status, detail))
        elif ev.topic == "outbound.hangup":
            self.spawn(self._ended(str(ev.data["linkedid"])))

    async def _ended(self, channel_id: str) -> None:
        await asyncio.sleep(0.2)  # let DialEnd's update land first
        await self.update(channel_id, cbm.DONE, None)

    async def close(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


CALLBACKS: Key[Callbacks] = Key("callbacks")


async def start(rt: Runtime, cb: Callback, conn: AmiConnection) -> None:
    """After the boundary committed ``cb``: originate it and follow it (without the component — a
    bare tool run — it is only sent, and the AMI events tell the rest)."""
    action = service.originate_action(cb)
    comp = rt.get(CALLBACKS)
    if comp is not None:
        comp.spawn(comp.follow(conn, cb.channel_id, action))
    else:
        await conn.action(action, timeout=5)


@asynccontextmanager
async def callbacks(rt: Runtime) -> AsyncIterator[None]:
    """STARTERS entry."""
    comp = Callbacks(rt)
    rt.put(CALLBACKS, comp)
    for prefix in TOPICS:
        rt.hub.subscribe(prefix, comp.on_event)
    try:
        yield
    finally:
        await comp.close()
        rt.drop(CALLBACKS)
