"""A transfer to a queue is refused only when nobody is signed in there: an agent in wrap-up (paused by
the queue for 15 s by default) or on 示忙 is still signed in and takes the caller afterwards. Routing
counts an agent in wrap-up but not one on 示忙. The live state tells the counts apart, from the
QueueStatus answer as Asterisk gives it."""

from __future__ import annotations

from datetime import UTC, datetime

from app.telephony.state import TelephonyState
from callflow import CallContext, decide
from callflow.config import load_config


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


def _paused_for(queue: str, iface: str, reason: str) -> dict[str, str]:
    return {**_member(queue, iface, paused=True), "PausedReason": reason}


def test_routing_counts_an_agent_in_wrap_up_but_not_one_on_a_break() -> None:
    """A prefecture whose agents are all in 话后处理 keeps its callers (they queue there a few seconds,
    as behind an agent on a call); one whose agents are all on 示忙 sends them to the province."""
    state = TelephonyState()
    assert state.routable_by_queue() is None
    state.replace_server("main", [
        {"Event": "QueueParams", "Queue": "q-province"},
        _member("q-province", "PJSIP/agent-1003", paused=False),
        {"Event": "QueueParams", "Queue": "q-kunming"},
        _paused_for("q-kunming", "PJSIP/agent-1001", "话后处理"),
        _member("q-kunming", "PJSIP/agent-1004", paused=False, status="5"),  # phone unavailable
        {"Event": "QueueParams", "Queue": "q-dali"},
        _paused_for("q-dali", "PJSIP/agent-1002", "休息"),
    ])  # fmt: skip
    assert state.agents_by_queue() == {"q-province": 1, "q-kunming": 0, "q-dali": 0}  # the wallboard's 空闲
    assert state.routable_by_queue() == {"q-province": 1, "q-kunming": 1, "q-dali": 0}

    config = load_config()
    now = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # a Wednesday, 10:00 in Kunming: every platform open
    kunming = decide(
        CallContext(caller_id="13987112345", queue_agents=state.routable_by_queue()), now, config
    )
    assert (kunming.platform, kunming.queue) == ("kunming", "q-kunming"), kunming.reason
    assert "多援一" not in kunming.reason
    dali = decide(CallContext(caller_id="13987212345", queue_agents=state.routable_by_queue()), now, config)
    assert dali.queue == config.overflow_queue and "多援一" in dali.reason, dali.reason
