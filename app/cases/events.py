"""The case domain's events: THE one place their topics and payloads are built.

- ``case.created``    a new case (hotline intake, voicemail, orphan import)
- ``case.transition`` one row of the transition table was applied (status may stay the same)
- ``case.updated``    the case's content changed without a transition (e.g. a transcript arrived)

Builders are pure; boundaries publish what they return with :func:`app.events.commit_and_publish`.
"""

from __future__ import annotations

from app.cases import workflow as wf
from app.cases.models import Case, CaseEvent
from app.events import Event

CREATED = "case.created"
TRANSITION = "case.transition"
UPDATED = "case.updated"
TOPICS = (CREATED, TRANSITION, UPDATED)


def created(case: Case) -> Event:
    return Event(
        CREATED,
        {
            "number": case.number,
            "platform": case.platform,
            "channel": case.channel,
            "type": case.type,
            "call_uniqueid": case.call_uniqueid,
        },
    )


def transitioned(ev: CaseEvent, case: Case) -> Event:
    return Event(
        TRANSITION,
        {
            "number": case.number,
            "action": ev.action,
            "from": ev.from_status,
            "to": ev.to_status,
            "platform": case.platform,
            "lead_unit": case.lead_unit,
            "actor": ev.actor_name,
        },
    )


def updated(ev: CaseEvent, case: Case) -> Event:
    return Event(
        UPDATED,
        {
            "number": case.number,
            "action": ev.action,
            "status": case.status,
            "platform": case.platform,
            "lead_unit": case.lead_unit,
            "actor": ev.actor_name,
        },
    )


def of_audit(ev: CaseEvent, case: Case) -> Event:
    """The event for one audit row: an annotation (no status change) is ``case.updated``."""
    return updated(ev, case) if ev.action in wf.ANNOTATIONS else transitioned(ev, case)


def of_audits(evs: list[CaseEvent], case: Case) -> list[Event]:
    return [of_audit(ev, case) for ev in evs]
