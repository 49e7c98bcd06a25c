"""AGI route `incoming`: route a call to 12345 (属地接听) and record it.

The decision is pure and never waits on the database: the call row is written after the reply, by
the AMI consumer's single batched writer, so a slow or locked database never holds a caller (and AMI
events — HotlineRoute, QueueCallerJoin — would recreate the row in any case).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from agi_handlers import channel_vars as cv
from agi_handlers.server import AgiRequest
from app.calls import service as calls
from app.telephony.handlers import DECISION_EVENT
from callflow import CallContext, decide

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger(__name__)
ANON = {"", "unknown", "anonymous", "restricted", "withheld", "private"}
_background: set[asyncio.Task[Any]] = set()


def _caller(env: dict[str, str]) -> str:
    caller = env.get("agi_callerid", "").strip()
    return "" if caller.lower() in ANON else caller


def context_from_env(env: dict[str, str], queue_agents: dict[str, int] | None) -> CallContext:
    trunk = env.get("agi_arg_1", "").strip() or None
    return CallContext(
        caller_id=_caller(env) or None,
        caller_name=env.get("agi_calleridname"),
        dnid=env.get("agi_dnid", "12345"),
        trunk=trunk,
        queue_agents=queue_agents,
    )


async def _record(rt: Runtime, item: dict[str, Any]) -> None:
    async with rt.db.sessionmaker() as session:
        await calls.record_decision(session, **item)
        await session.commit()


def record_later(rt: Runtime, item: dict[str, Any]) -> None:
    """Hand the decision to the AMI consumer's ordered, batched writer (one writer: no lock contention
    with AMI events); without a consumer, write it in a background task. The caller never waits."""
    telephony = rt.components.get("telephony")
    if telephony is not None:
        telephony.consumer.feed(item["server"], {"Event": DECISION_EVENT, "_item": item})  # type: ignore[dict-item]
        return
    task = asyncio.create_task(_record(rt, item))
    _background.add(task)
    task.add_done_callback(_background.discard)


async def handle(request: AgiRequest, rt: Runtime) -> None:
    env = request.env
    telephony = rt.components.get("telephony")
    queue_agents = telephony.state.agents_by_queue() if telephony is not None else None
    ctx = context_from_env(env, queue_agents)
    decision = decide(ctx, datetime.now(UTC), rt.config)
    d = decision.to_dict()
    for w in decision.warnings:
        log.warning("routing %s: %s", env.get("agi_uniqueid"), w)
    values = {
        cv.ROUTE: decision.route,
        cv.QUEUE: decision.queue or "",
        cv.OVERFLOW_QUEUE: decision.overflow_queue or "",
        cv.OVERFLOW_AFTER: decision.overflow_after_s,
        cv.PLATFORM: decision.platform,
        cv.PREFECTURE: decision.prefecture or "",
        cv.MAILBOX: decision.mailbox or "",
        cv.GREETING: decision.greeting or "",
        cv.CALLER_KIND: decision.caller_kind,
    }
    await request.set_vars(values)
    record_later(
        rt,
        {
            "uniqueid": env.get("agi_uniqueid", ""),
            "linkedid": env.get("agi_arg_3") or None,
            "channel": env.get("agi_channel"),
            "caller": _caller(env),
            "caller_name": env.get("agi_calleridname"),
            "trunk": ctx.trunk,
            "decision": d,
            "server": env.get("agi_arg_2") or "main",
            "at": datetime.now(UTC),
        },
    )
