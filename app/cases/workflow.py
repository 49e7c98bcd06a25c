"""THE case state machine: one transition table, pure (no I/O).

``TRANSITIONS[(state, action)] = Rule(new_state, roles)``. Everything that changes a case's status
goes through :func:`step`; an action absent from the table for the current state is illegal (HTTP
409) and changes nothing. Self-loops (progress notes, reminders, publishing) are transitions too,
so every one of them leaves an audit row and the audit log always replays to the current state.
"""

from __future__ import annotations

from dataclasses import dataclass

# states
INTAKE = "intake"  # 受理
ANSWERED = "answered_directly"  # 直接答复 (closed on the call)
DISPATCHED = "dispatched"  # 分办/转办 to a lead unit
SIGNED = "signed"  # 签收
RETURNED = "returned"  # 退回 (back at the hotline office, re-dispatchable)
IN_PROGRESS = "in_progress"  # 办理
EXTENSION = "extension_requested"  # 延期申请
REPLIED = "replied"  # 办结
FED_BACK = "fed_back"  # 反馈
VISITED = "visited"  # 回访 (rating stored)
REOPENED = "reopened"  # 不满意: back to the office for review
CLOSED = "closed"  # 结案
TRANSFERRED = "transfer_out"  # to another platform / the province: leaves this queue
MERGED = "merged"  # duplicate merged into another case

STATES = (
    INTAKE,
    ANSWERED,
    DISPATCHED,
    SIGNED,
    RETURNED,
    IN_PROGRESS,
    EXTENSION,
    REPLIED,
    FED_BACK,
    VISITED,
    REOPENED,
    CLOSED,
    TRANSFERRED,
    MERGED,
)
TERMINAL = frozenset({ANSWERED, CLOSED, TRANSFERRED, MERGED})
OPEN = tuple(s for s in STATES if s not in TERMINAL)

LABELS = {
    INTAKE: "已受理",
    ANSWERED: "直接答复",
    DISPATCHED: "已派单",
    SIGNED: "已签收",
    RETURNED: "已退回",
    IN_PROGRESS: "办理中",
    EXTENSION: "延期申请中",
    REPLIED: "已办结",
    FED_BACK: "已反馈",
    VISITED: "已回访",
    REOPENED: "不满意待复核",
    CLOSED: "已结案",
    TRANSFERRED: "已转出",
    MERGED: "已合并",
}

# roles: the auth roles plus "system" (scheduler, voicemail, survey telephony)
AGENT, SUPERVISOR, UNIT, ADMIN, SYSTEM = "agent", "supervisor", "unit", "admin", "system"
OFFICE = frozenset({AGENT, SUPERVISOR, ADMIN})
MANAGERS = frozenset({SUPERVISOR, ADMIN})
UNITS = frozenset({UNIT})


@dataclass(frozen=True)
class Rule:
    to: str
    roles: frozenset[str]
    label: str
    needs_note: bool = False


def _t(
    table: dict[tuple[str, str], Rule],
    froms: tuple[str, ...],
    action: str,
    to: str | None,
    roles: frozenset[str],
    label: str,
    needs_note: bool = False,
) -> None:
    for f in froms:
        table[(f, action)] = Rule(to or f, roles, label, needs_note)


def _build() -> dict[tuple[str, str], Rule]:
    t: dict[tuple[str, str], Rule] = {}
    _t(t, (INTAKE,), "answer", ANSWERED, OFFICE, "直接答复", needs_note=True)
    _t(t, (INTAKE, RETURNED, REOPENED), "dispatch", DISPATCHED, OFFICE, "派单")
    _t(t, (INTAKE, RETURNED, REOPENED), "transfer", TRANSFERRED, OFFICE, "转出", needs_note=True)
    _t(t, (INTAKE,), "merge", MERGED, OFFICE, "合并重复工单")
    _t(t, (DISPATCHED,), "sign", SIGNED, UNITS, "签收")
    _t(t, (DISPATCHED, SIGNED), "return", RETURNED, UNITS, "退回", needs_note=True)
    _t(t, (SIGNED, IN_PROGRESS), "progress", IN_PROGRESS, UNITS, "办理进展", needs_note=True)
    _t(t, (SIGNED, IN_PROGRESS), "request_extension", EXTENSION, UNITS, "申请延期", needs_note=True)
    _t(t, (EXTENSION,), "approve_extension", IN_PROGRESS, MANAGERS, "同意延期")
    _t(t, (EXTENSION,), "refuse_extension", IN_PROGRESS, MANAGERS, "不同意延期", needs_note=True)
    _t(t, (SIGNED, IN_PROGRESS), "reply", REPLIED, UNITS, "办结答复", needs_note=True)
    _t(t, (REPLIED,), "reject_reply", IN_PROGRESS, MANAGERS, "退回重办", needs_note=True)
    _t(t, (REPLIED,), "feedback", FED_BACK, OFFICE | {SYSTEM}, "反馈市民")
    _t(t, (FED_BACK,), "rate", VISITED, OFFICE | {SYSTEM}, "回访评价")
    _t(t, (VISITED,), "reopen", REOPENED, MANAGERS | {SYSTEM}, "不满意复核", needs_note=True)
    _t(t, (VISITED, REOPENED), "close", CLOSED, OFFICE, "结案")
    _t(t, (ANSWERED, CLOSED), "publish", None, MANAGERS, "公开")
    _t(t, (DISPATCHED, SIGNED, IN_PROGRESS, EXTENSION), "remind", None, MANAGERS | {SYSTEM}, "催办")
    return t


TRANSITIONS: dict[tuple[str, str], Rule] = _build()
ACTIONS = tuple(sorted({a for _, a in TRANSITIONS}))
ACTION_LABELS = {a: r.label for (_, a), r in TRANSITIONS.items()}


class IllegalTransition(Exception):
    """The action is not allowed in this state, or not for this role. Nothing changed."""

    def __init__(self, message: str, *, forbidden: bool = False) -> None:
        super().__init__(message)
        self.forbidden = forbidden


def allowed_actions(state: str, role: str) -> list[str]:
    return sorted(a for (s, a), r in TRANSITIONS.items() if s == state and role in r.roles)


def step(state: str, action: str, role: str, note: str | None = None) -> Rule:
    """The rule for (state, action) if ``role`` may take it; raise IllegalTransition otherwise."""
    if action not in ACTION_LABELS:
        raise IllegalTransition(f"unknown action {action!r}; known: {', '.join(ACTIONS)}")
    rule = TRANSITIONS.get((state, action))
    if rule is None:
        raise IllegalTransition(
            f"cannot {action} ({ACTION_LABELS[action]}) a case in state {state} ({LABELS.get(state, state)}); "
            f"allowed here: {', '.join(sorted(a for (s, a) in TRANSITIONS if s == state)) or 'nothing'}"
        )
    if role not in rule.roles:
        raise IllegalTransition(
            f"role {role} may not {action} ({rule.label}); needs {', '.join(sorted(rule.roles))}",
            forbidden=True,
        )
    if rule.needs_note and not (note or "").strip():
        raise IllegalTransition(f"{action} ({rule.label}) needs a note giving the reason or content")
    return rule


def replay(initial: str, log: list[tuple[str, str, str]]) -> str:
    """Replay audit rows (from, action, to) from ``initial``; raise ValueError if they don't chain."""
    state = initial
    for frm, action, to in log:
        if frm != state:
            raise ValueError(f"audit row starts from {frm} but the case was {state}")
        rule = TRANSITIONS.get((frm, action))
        if rule is None or rule.to != to:
            raise ValueError(f"audit row {frm} --{action}--> {to} is not in the transition table")
        state = to
    return state
