"""AGI route `incoming`: route a call to 12345 (属地接听) and record it.

The decision is pure and never waits on the database. The reply hands all of it to the dialplan,
whose HotlineRoute event carries it to the AMI leader (the call row's one writer when FastAGI runs in
processes of its own); in the single process it also goes through the DecisionSink port to the AMI
consumer's batched writer, after the reply. A slow or locked database never holds a caller.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote

from agi_handlers import channel_vars as cv
from agi_handlers.ports import AgiPorts
from agi_handlers.server import AgiRequest
from callflow import CallContext, Decision, HotlineConfig, decide

log = logging.getLogger(__name__)
# the reason the call row keeps (255 wide); percent-encoded, it stays far inside Asterisk's application data
REASON_CHARS = 200
ANON = {"", "unknown", "anonymous", "restricted", "withheld", "private"}


def _caller(env: dict[str, str]) -> str:
    caller = env.get("agi_callerid", "").strip()
    return "" if caller.lower() in ANON else caller


def dialled(env: dict[str, str]) -> str:
    """The dialled number: the dialplan passes it as argument 4 (HOTLINE_DID, the extension the trunk
    delivered); an older dialplan without it leaves Asterisk's own agi_dnid."""
    did = env.get("agi_arg_4", "").strip()
    if did:
        return did
    dnid = env.get("agi_dnid", "").strip()
    return "12345" if dnid.lower() in ANON else dnid


def context_from_env(
    env: dict[str, str], queue_agents: Mapping[str, int] | None, queue_waiting: Mapping[str, int] | None = None
) -> CallContext:
    trunk = env.get("agi_arg_1", "").strip() or None
    return CallContext(
        caller_id=_caller(env) or None,
        caller_name=env.get("agi_calleridname"),
        dnid=dialled(env),
        trunk=trunk,
        queue_agents=queue_agents,
        queue_waiting=queue_waiting,
    )


def variables(decision: Decision, config: HotlineConfig) -> dict[str, object]:
    """The channel variables that hand a decision to the dialplan."""
    return {
        cv.ROUTE: decision.route,
        cv.QUEUE: decision.queue or "",
        cv.OVERFLOW_QUEUE: decision.overflow_queue or "",
        cv.OVERFLOW_AFTER: decision.overflow_after_s,
        cv.PLATFORM: decision.platform,
        cv.PREFECTURE: decision.prefecture or "",
        cv.MAILBOX: decision.mailbox or "",
        cv.GREETING: decision.greeting or "",
        cv.CALLER_KIND: decision.caller_kind,
        cv.CALLER_E164: decision.caller_e164 or "",
        cv.REASON: quote(decision.reason[:REASON_CHARS], safe=""),
        cv.SOURCE: decision.hotline,
        cv.NOTICE: decision.notice or "",
        cv.SKILL: decision.skill or "",
        cv.SKILL_SUFFIX: decision.skill_suffix,
        cv.CALLBACK_AFTER: decision.callback_after_s,
        cv.CALLBACK_KEY: config.queue_callback.key,
        cv.CALLBACK_ANSWER: config.queue_callback.answer_s,
    }


async def handle(request: AgiRequest, ports: AgiPorts) -> None:
    env = request.env
    ctx = context_from_env(env, ports.queue_agents(), ports.queue_waiting())
    decision = decide(ctx, datetime.now(UTC), ports.config)
    d = decision.to_dict()
    for w in decision.warnings:
        log.warning("routing %s: %s", env.get("agi_uniqueid"), w)
    await request.set_vars(variables(decision, ports.config))
    ports.decisions.record(
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
