"""The transition table, pure: random action sequences; illegal ones are refused and change nothing;
the audit log (from, action, to) always replays to the current state."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.cases import workflow as wf

ROLES = ["agent", "supervisor", "unit", "admin", "system"]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(list(wf.ACTIONS) + ["fly"]), st.sampled_from(ROLES), st.booleans()),
        max_size=40,
    )
)
def test_random_sequences_replay_and_illegal_ones_change_nothing(steps):
    state = wf.INTAKE
    log: list[tuple[str, str, str]] = []
    for action, role, with_note in steps:
        note = "理由" if with_note else None
        rule = wf.TRANSITIONS.get((state, action))
        try:
            got = wf.step(state, action, role, note)
        except wf.IllegalTransition as e:
            assert str(e)  # a clear message
            legal = rule is not None and role in rule.roles and (with_note or not rule.needs_note)
            assert not legal, f"{state} {action} {role} was refused: {e}"
            continue  # state unchanged, nothing logged
        assert rule is not None and got == rule and role in rule.roles
        log.append((state, action, got.to))
        state = got.to
    assert wf.replay(wf.INTAKE, log) == state


def test_terminal_states_only_allow_publishing():
    for s in wf.TERMINAL:
        assert {a for (f, a) in wf.TRANSITIONS if f == s} <= {"publish"}


def test_every_state_is_reachable_from_intake():
    seen, todo = {wf.INTAKE}, [wf.INTAKE]
    while todo:
        s = todo.pop()
        for (f, _), r in wf.TRANSITIONS.items():
            if f == s and r.to not in seen:
                seen.add(r.to)
                todo.append(r.to)
    assert seen == set(wf.STATES)


def test_messages_name_the_state_and_the_roles():
    with pytest.raises(wf.IllegalTransition, match=r"（intake），不能签收（sign）"):
        wf.step(wf.INTAKE, "sign", "unit")
    with pytest.raises(wf.IllegalTransition, match="需要 admin, supervisor") as e:
        wf.step(wf.EXTENSION, "approve_extension", "agent")
    assert e.value.forbidden
    with pytest.raises(wf.IllegalTransition, match="未知操作"):
        wf.step(wf.INTAKE, "delete", "admin")


def test_replay_rejects_a_forged_log():
    with pytest.raises(ValueError):
        wf.replay(wf.INTAKE, [(wf.INTAKE, "answer", wf.CLOSED)])
    with pytest.raises(ValueError):
        wf.replay(wf.INTAKE, [(wf.DISPATCHED, "sign", wf.SIGNED)])


def test_annotations_replay_in_place_but_never_change_the_status():
    log = [(wf.INTAKE, "transcript", wf.INTAKE), (wf.INTAKE, "dispatch", wf.DISPATCHED)]
    assert wf.replay(wf.INTAKE, log) == wf.DISPATCHED
    with pytest.raises(ValueError):
        wf.replay(wf.INTAKE, [(wf.INTAKE, "transcript", wf.CLOSED)])
    assert wf.label_of("transcript") == "留言转写"


def test_every_guard_and_effect_the_table_names_exists():
    from app.cases.effects import EFFECTS, GUARDS

    for (state, action), rule in wf.TRANSITIONS.items():
        assert set(rule.guards) <= set(GUARDS), (state, action, rule.guards)
        assert set(rule.effects) <= set(EFFECTS), (state, action, rule.effects)
    used = {g for r in wf.TRANSITIONS.values() for g in r.guards} | {
        e for r in wf.TRANSITIONS.values() for e in r.effects
    }
    assert used == set(GUARDS) | set(EFFECTS)  # nothing registered that no row uses


def test_offered_actions_follow_the_unit_guards():
    assert wf.allowed_actions(wf.SIGNED, "unit", wf.LEAD) == [
        "progress",
        "reply",
        "request_extension",
        "return",
    ]
    assert wf.allowed_actions(wf.SIGNED, "unit", wf.CO) == ["progress"]
    assert wf.allowed_actions(wf.SIGNED, "unit", wf.OTHER) == []
    assert wf.allowed_actions(wf.INTAKE, "agent") == ["answer", "answer_kb", "dispatch", "hand_over", "merge", "transfer"]


def test_hand_over_sides_owner_recalls_receiver_decides_watcher_only_looks():
    assert wf.allowed_actions(wf.HANDED_OVER, "agent", side=wf.OWNER) == ["recall_handover"]
    assert wf.allowed_actions(wf.HANDED_OVER, "agent", side=wf.RECEIVER) == [
        "accept_handover",
        "refuse_handover",
    ]
    assert wf.allowed_actions(wf.HANDED_OVER, "supervisor", side=wf.WATCHER) == []
    assert wf.allowed_actions(wf.INTAKE, "agent", side=wf.WATCHER) == []
    assert wf.allowed_actions(wf.INTAKE, "agent", side=wf.RECEIVER) == []
    assert "hand_over" in wf.allowed_actions(wf.RETURNED, "agent", side=wf.OWNER)
    assert wf.step(wf.HANDED_OVER, "accept_handover", "agent").to == wf.INTAKE
    assert wf.step(wf.HANDED_OVER, "refuse_handover", "agent", "理由").to == wf.RETURNED
    try:
        wf.step(wf.INTAKE, "hand_over", "unit", "理由")
    except wf.IllegalTransition as e:
        assert e.forbidden  # units never hand a case over
    else:
        raise AssertionError("a unit handed a case over")
