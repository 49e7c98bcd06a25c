"""AGI route `incoming`: route a call to 12345 (属地接听) and record it.

The decision is pure and never waits on the database. Recording the call row is bounded in time
(agi_db_timeout_s): if the database is slow the caller is routed anyway and the write finishes in
the background; AMI events (HotlineRoute, QueueCallerJoin) would recreate the row in any case.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from agi_handlers import channel_vars as cv
from agi_handlers.server import AgiRequest
from app.calls import service as calls
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


async def _record(
    rt: Runtime, env: dict[str, str], linkedid: str | None, decision: dict[str, Any], trunk: str | None
) -> None:
    async with rt.db.sessionmaker() as session:
        await calls.record_decision(
            session,
            uniqueid=env.get("agi_uniqueid", ""),
            linkedid=linkedid,
            channel=env.get("agi_channel"),
            caller=_caller(env),
            caller_name=env.get("agi_calleridname"),
            trunk=trunk,
            decision=decision,
            server=env.get("agi_arg_2") or "main",
        )
        await session.commit()


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
    for name, value in values.items():
        await request.set_var(name, value)
    linkedid = env.get("agi_arg_3") or None
    task = asyncio.create_task(_record(rt, env, linkedid, d, ctx.trunk))
    _background.add(task)
    task.add_done_callback(_background.discard)
    try:
        await asyncio.wait_for(asyncio.shield(task), rt.settings.agi_db_timeout_s)
    except TimeoutError:
        log.warning("call %s: database slow; routed without waiting for the write", env.get("agi_uniqueid"))
    except Exception:
        log.exception("call %s: recording the decision failed", env.get("agi_uniqueid"))
