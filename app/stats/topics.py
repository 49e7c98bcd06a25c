"""The wallboard's event topics, declared once (prefixes of app.events topics).

KPI_TOPICS: events that can change a KPI (the component's cache version, the socket's KPI push).
ABANDONED_TOPICS: events that change only the abandoned-call list (its call-back column).
STATE_TOPICS: events that change the live queue/agent picture."""

from __future__ import annotations

KPI_TOPICS = ("call.", "agent.connect", "queue.caller_join", "telephony.resync", "case.transition", "case.created")
ABANDONED_TOPICS = ("callback.",)
STATE_TOPICS = (
    "agent.state",
    "queue.",
    "agent.connect",
    "agent.complete",
    "agent.called",
    "telephony.resync",
    "telephony.live",  # a follower process loaded the leader's state (app.telephony.shared)
    "telephony.server",  # this process's AMI session to a server came or went (its queues' availability)
)
