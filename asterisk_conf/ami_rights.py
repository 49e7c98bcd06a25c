"""What the backend's AMI user may hear and do: the events manager.conf lets through and the write
classes derived from the actions the backend's code sends (tests/integration/test_security_files.py
holds the two together). asterisk_conf.render writes them into manager.conf."""

from __future__ import annotations

# Responses to list actions (QueueStatus, CoreShowChannels) are not filtered. A follower process's
# session narrows this further to class `call` (docs/adr/2026-12-03-ami-event-mask.md).
AMI_EVENTS = (
    "QueueCallerJoin",
    "QueueCallerLeave",
    "QueueCallerAbandon",
    "AgentCalled",
    "AgentConnect",
    "AgentComplete",
    "AgentRingNoAnswer",
    "AgentDump",
    "QueueMemberStatus",
    "QueueMemberAdded",
    "QueueMemberRemoved",
    "QueueMemberPause",
    "QueueMemberPaused",
    "QueueMemberPenalty",
    "UserEvent",
    "Hangup",
    "OriginateResponse",
    "DialBegin",
    "DialEnd",
    "BridgeEnter",
    "BridgeLeave",
    "FullyBooted",
    "Shutdown",
    "Reload",
    "ContactStatus",
)

# Least privilege for the backend's AMI user: the event classes it consumes and the action classes of
# what it sends (an action needs any one of its classes). It may never *send* system or command actions
# (restart, module load, any CLI command). It reads system-class events: FullyBooted (panoramisk sends
# actions queued during a reconnect on it) and ContactStatus/Reload; without them agents never became
# available in the system tests. Reading grants no power.
AMI_READ = ("call", "agent", "user", "system")  # queue/agent events, Hangup/Dial*, UserEvent, FullyBooted
AMI_ACTION_CLASS: dict[str, str | None] = {
    "Ping": None,  # no class needed
    "QueueStatus": None,
    "Events": None,  # a follower narrows its own event mask (docs/adr/2026-12-03-ami-event-mask.md)
    "CoreShowChannels": "reporting",  # system or reporting
    "QueueAdd": "agent",
    "QueueRemove": "agent",
    "QueuePause": "agent",
    "QueuePenalty": "agent",  # an agent's skill level changed while signed in
    "Originate": "originate",
    "Hangup": "call",  # system or call
    "Redirect": "call",  # blind transfer of the caller (docs/adr/live-transfer.md)
    "Setvar": "call",  # the transfer's target on the channel before the Redirect / Atxfer
    "Atxfer": "call",  # attended transfer from the agent's channel
    "Status": "call",
    "UserEvent": "user",
}
AMI_WRITE = tuple(sorted({c for c in AMI_ACTION_CLASS.values() if c}))
