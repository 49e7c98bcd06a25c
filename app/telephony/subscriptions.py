"""The one table mapping AMI events to their handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from app.telephony import handlers as h

Handler = Callable[[h.Ctx, str, dict[str, str]], Awaitable[None]]

SUBSCRIPTIONS: dict[str, Handler] = {
    "QueueCallerJoin": h.queue_caller_join,
    "QueueCallerLeave": h.queue_caller_leave,
    "QueueCallerAbandon": h.queue_caller_abandon,
    "AgentCalled": h.agent_called,
    "AgentConnect": h.agent_connect,
    "AgentComplete": h.agent_complete,
    "QueueMemberStatus": h.queue_member_status,
    "QueueMemberAdded": h.queue_member_added,
    "QueueMemberRemoved": h.queue_member_removed,
    "QueueMemberPause": h.queue_member_pause,
    "QueueMemberPaused": h.queue_member_pause,  # Asterisk 12 name
    "UserEvent": h.user_event,
    "DialEnd": h.dial_end,
    "Hangup": h.hangup,
    h.DECISION_EVENT: h.decision,  # synthetic, fed by the FastAGI incoming route
}
