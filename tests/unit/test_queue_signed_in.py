"""A transfer to a queue is refused only when nobody is signed in there: an agent in wrap-up (paused by
the queue for 15 s by default) or on 示忙 is still signed in and takes the caller afterwards. The live
state tells the two counts apart, from the QueueStatus answer as Asterisk gives it."""

from __future__ import annotations

from app.telephony.state import TelephonyState


def _member(queue: str, iface: str, *, paused: bool, status: str = "1") -> dict[str, str]:
    return {"Event": "QueueMember", "Queue": queue, "StateInterface": iface, "Name": iface,
            "Status": status, "Paused": "1" if paused else "0", "PausedReason": "wrapup" if paused else ""}  # fmt: skip


def test_a_paused_agent_is_signed_in_but_not_staffed() -> None:
    state = TelephonyState()
    assert state.signed_in_by_queue() is None  # unknown until a server has answered
    state.replace_server("province", [
        {"Event": "QueueParams", "Queue": "q-province"},
        _member("q-province", "PJSIP/agent-1002", paused=True),
        {"Event": "QueueParams", "Queue": "q-kunming"},
        {"Event": "QueueParams", "Queue": "q-dali"},
        _member("q-dali", "PJSIP/agent-1001", paused=False, status="5"),  # phone unavailable
    ])  # fmt: skip
    assert state.agents_by_queue() == {"q-province": 0, "q-kunming": 0, "q-dali": 0}
    assert state.signed_in_by_queue() == {"q-province": 1, "q-kunming": 0, "q-dali": 0}
