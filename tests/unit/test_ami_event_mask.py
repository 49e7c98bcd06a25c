"""Which AMI event classes a process's session asks for: all of them where it consumes the server's
events (its leader, or the single SQLite process), only what the originators' listeners need where
it follows (docs/adr/2026-12-03-ami-event-mask.md)."""

from __future__ import annotations

from app.telephony.ami import event_mask
from app.telephony.handlers import DECISION_EVENT
from app.telephony.subscriptions import SUBSCRIPTIONS

# the class Asterisk 16 gives each event (its Privilege header; managerEventInstance class in
# /usr/share/asterisk/documentation/core-en_US.xml)
EVENT_CLASS = {
    "QueueCallerJoin": "agent", "QueueCallerLeave": "agent", "QueueCallerAbandon": "agent",
    "AgentCalled": "agent", "AgentConnect": "agent", "AgentComplete": "agent",
    "QueueMemberStatus": "agent", "QueueMemberAdded": "agent", "QueueMemberRemoved": "agent",
    "QueueMemberPause": "agent", "QueueMemberPaused": "agent",
    "UserEvent": "user", "DialEnd": "call", "Hangup": "call", "OriginateResponse": "call",
}  # fmt: skip
LISTENED = ("OriginateResponse",)  # app.surveys.scheduler.on_ami, app.telephony.originate


def classes(mask: str) -> set[str]:
    return {"system", "call", "agent", "user"} if mask == "on" else set(mask.split(","))


def test_the_leader_asks_for_every_event_and_a_follower_for_its_listeners_only() -> None:
    assert event_mask(leading=True) == "on"
    follower = classes(event_mask(leading=False))
    for name in LISTENED:
        assert EVENT_CLASS[name] in follower, name
    queue_events = [n for n in SUBSCRIPTIONS if n != DECISION_EVENT and EVENT_CLASS[n] != "call"]
    assert queue_events and not [n for n in queue_events if EVENT_CLASS[n] in follower]
    assert follower == {"call"}  # the narrowest mask that still carries OriginateResponse

