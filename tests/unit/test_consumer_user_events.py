"""The AMI consumer queues only the UserEvents its handler acts on: a bench's or an administrator's own
UserEvent costs no batch and no transaction, and every one the handler reads still gets through."""

from __future__ import annotations

import inspect
import re

from app.telephony import handlers
from app.telephony.consumer import AmiConsumer
from app.telephony.state import TelephonyState


def _consumer() -> AmiConsumer:
    return AmiConsumer(db=None, hub=None, state=TelephonyState(), queue_platform={})  # type: ignore[arg-type]


def test_only_the_user_events_the_handler_reads_are_queued() -> None:
    c = _consumer()
    for name in ("HotlineBench", "SomethingElse", ""):
        c.feed("main", {"Event": "UserEvent", "UserEvent": name, "Uniqueid": "1.1"})
    assert c.inbox.qsize() == 0
    for name in sorted(handlers.USER_EVENTS):
        c.feed("main", {"Event": "UserEvent", "UserEvent": name, "Uniqueid": "1.1"})
    c.feed("main", {"Event": "Hangup", "Uniqueid": "1.1"})
    assert c.inbox.qsize() == len(handlers.USER_EVENTS) + 1


def test_the_set_names_every_user_event_the_handler_compares() -> None:
    compared = set(re.findall(r'ev\.get\("UserEvent"\) [!=]= "(\w+)"', inspect.getsource(handlers.user_event)))
    assert compared and compared == set(handlers.USER_EVENTS)
