"""THE case state machine: one transition table, pure (no I/O).

``TRANSITIONS[(state, action)] = Rule(new_state, roles, label, needs_note, guards, effects)``.
Everything that changes a case's status goes through :func:`step`; an action absent from the table
for the current state is illegal (HTTP 409) and changes nothing. Guards and effects are names of
small functions in :mod:`app.cases.effects`, which the service runs in the listed order. Self-loops (progress notes, reminders, publishing) are transitions too,
so every one of them leaves an audit row and the audit log always replays to the current state.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

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
HANDED_OVER = "handed_over"  # 移交待接收: sent to another platform, which accepts (it becomes theirs) or returns it
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
    HANDED_OVER,
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
    HANDED_OVER: "移交待接收",
}

# roles: the auth roles plus "system" (scheduler, voicemail, survey telephony)
AGENT, SUPERVISOR, UNIT, ADMIN, SYSTEM = "agent", "supervisor", "unit", "admin", "system"
OFFICE = frozenset({AGENT, SUPERVISOR, ADMIN})
MANAGERS = frozenset({SUPERVISOR, ADMIN})
UNITS = frozenset({UNIT})


@dataclass(frozen=True)
class Rule:
    """One row of the table. ``guards`` and ``effects`` name functions in :mod:`app.cases.effects`
    (GUARDS / EFFECTS), run in order by :func:`app.cases.service.transition`: every guard before any
    effect, so a refused action changes nothing."""

    to: str
    roles: frozenset[str]
    label: str
    needs_note: bool = False
    guards: tuple[str, ...] = ()
    effects: tuple[str, ...] = ()


def _t(
    table: dict[tuple[str, str], Rule],
    froms: tuple[str, ...],
    action: str,
    to: str | None,
    roles: frozenset[str],
    label: str,
    needs_note: bool = False,
    guards: tuple[str, ...] = (),
    effects: tuple[str, ...] = (),
) -> None:
    for f in froms:
        table[(f, action)] = Rule(to or f, roles, label, needs_note, guards, effects)


# guards that only look at who the actor is for the case's units (pure: the pages use them too)
LEAD, CO, OTHER = "lead", "co", "other"  # a unit user's relation to a case
UNIT_GUARDS: dict[str, frozenset[str]] = {
    "lead_unit": frozenset({LEAD}),
    "lead_or_co_unit": frozenset({LEAD, CO}),
}
# an office user's side of a case: the platform that owns it, the platform a 移交 waits at, or a
# platform that handed it over earlier and only watches it (sees its status, takes no action)
OWNER, RECEIVER, WATCHER = "owner", "receiver", "watcher"
RECEIVER_GUARD = "receiving_platform"  # rules with this guard belong to the receiver, the rest to the owner


def _build() -> dict[tuple[str, str], Rule]:
    t: dict[tuple[str, str], Rule] = {}
    again = (INTAKE, RETURNED, REOPENED)
    working = (SIGNED, IN_PROGRESS)
    # fmt: off
    _t(t, (INTAKE,), "answer", ANSWERED, OFFICE, "直接答复", needs_note=True,
       effects=("store_answer", "mark_closed", "mail_answer"))
    _t(t, (INTAKE,), "answer_kb", ANSWERED, OFFICE, "知识库直接答复", needs_note=True,
       guards=("cites_article",), effects=("store_answer", "store_citation", "mark_closed", "mail_answer"))
    _t(t, again, "dispatch", DISPATCHED, OFFICE, "派单",
       guards=("units_active_in_platform",), effects=("assign_units", "notify_lead_unit"))
    _t(t, again, "transfer", TRANSFERRED, OFFICE, "转出", needs_note=True,
       guards=("transfer_target",), effects=("transfer_out", "mark_closed"))
    _t(t, again, "hand_over", HANDED_OVER, OFFICE, "移交", needs_note=True,
       guards=("handover_target",), effects=("send_handover",))
    _t(t, (HANDED_OVER,), "accept_handover", INTAKE, OFFICE, "接收移交",
       guards=(RECEIVER_GUARD,), effects=("take_over",))
    _t(t, (HANDED_OVER,), "refuse_handover", RETURNED, OFFICE, "退回移交", needs_note=True,
       guards=(RECEIVER_GUARD,), effects=("handover_refused",))
    _t(t, (HANDED_OVER,), "recall_handover", RETURNED, OFFICE, "撤回移交", needs_note=True,
       guards=("local_receiver",), effects=("handover_recalled",))
    _t(t, (INTAKE,), "merge", MERGED, OFFICE, "合并重复工单", effects=("merge_into", "mark_closed"))
    _t(t, (DISPATCHED,), "sign", SIGNED, UNITS, "签收", guards=("lead_unit",), effects=("mark_signed",))
    _t(t, (DISPATCHED, SIGNED), "return", RETURNED, UNITS, "退回", needs_note=True,
       guards=("lead_unit", "return_window"), effects=("back_to_dispatch",))
    _t(t, working, "progress", IN_PROGRESS, UNITS, "办理进展", needs_note=True, guards=("lead_or_co_unit",))
    _t(t, working, "request_extension", EXTENSION, UNITS, "申请延期", needs_note=True,
       guards=("lead_unit", "extensions_left"))
    _t(t, (EXTENSION,), "approve_extension", IN_PROGRESS, MANAGERS, "同意延期", effects=("extend_handle_due",))
    _t(t, (EXTENSION,), "refuse_extension", IN_PROGRESS, MANAGERS, "不同意延期", needs_note=True)
    _t(t, working, "reply", REPLIED, UNITS, "办结答复", needs_note=True,
       guards=("lead_unit",), effects=("store_answer", "mark_replied"))
    _t(t, (REPLIED,), "reject_reply", IN_PROGRESS, MANAGERS, "退回重办", needs_note=True)
    _t(t, (REPLIED,), "feedback", FED_BACK, OFFICE | {SYSTEM}, "反馈市民", effects=("sms_feedback",))
    _t(t, (FED_BACK,), "rate", VISITED, OFFICE | {SYSTEM}, "回访评价",
       guards=("rating_given",), effects=("store_rating",))
    _t(t, (VISITED,), "reopen", REOPENED, MANAGERS | {SYSTEM}, "不满意复核", needs_note=True)
    _t(t, (VISITED, REOPENED), "close", CLOSED, OFFICE, "结案", effects=("mark_closed",))
    _t(t, (ANSWERED, CLOSED), "publish", None, MANAGERS, "公开", effects=("mark_published",))
    _t(t, (DISPATCHED, SIGNED, IN_PROGRESS, EXTENSION), "remind", None, MANAGERS | {SYSTEM}, "催办",
       effects=("add_reminder", "notify_reminder"))
    # fmt: on
    return t


TRANSITIONS: dict[tuple[str, str], Rule] = _build()

# Annotations: audit rows that record a change to the case's content, never to its status. Legal in
# every state, taken by the system only (not offered on the pages); they replay as (s, a, s).
ANNOTATIONS = {"transcript": "留言转写", "follow_up": "市民补充"}
ACTIONS = tuple(sorted({a for _, a in TRANSITIONS}))
ACTION_LABELS = {a: r.label for (_, a), r in TRANSITIONS.items()}


class IllegalTransition(Exception):
    """The action is not allowed in this state, or not for this role. Nothing changed."""

    def __init__(self, message: str, *, forbidden: bool = False) -> None:
        super().__init__(message)
        self.forbidden = forbidden


def label_of(action: str) -> str:
    """The Chinese label of an action or annotation (the action itself if unknown)."""
    return ACTION_LABELS.get(action) or ANNOTATIONS.get(action) or action


def unit_may(rule: Rule, relation: str) -> bool:
    """Whether a unit user with this relation to the case (LEAD, CO, OTHER) passes the rule's unit guards."""
    return all(relation in UNIT_GUARDS[g] for g in rule.guards if g in UNIT_GUARDS)


def side_may(rule: Rule, side: str | None) -> bool:
    """Whether an office user on this side of the case (OWNER, RECEIVER, WATCHER) may take the rule:
    the receiver only the rules guarded by RECEIVER_GUARD, the owner only the others, a watcher none."""
    if side is None:
        return True
    if side == WATCHER:
        return False
    return (RECEIVER_GUARD in rule.guards) == (side == RECEIVER)


def allowed_actions(state: str, role: str, relation: str | None = None, side: str | None = None) -> list[str]:
    """The actions the table offers ``role`` in ``state`` (what the pages show as buttons). For a unit
    user, ``relation`` (LEAD, CO, OTHER) also applies the table's unit guards; for an office user,
    ``side`` (OWNER, RECEIVER, WATCHER) the hand-over sides."""
    return list(_allowed(state, role, relation, side))


@lru_cache(maxsize=4096)
def _allowed(state: str, role: str, relation: str | None, side: str | None) -> tuple[str, ...]:
    """allowed_actions over the constant table, computed once per combination (every case in a list asks)."""
    return tuple(sorted(
        a
        for (s, a), r in TRANSITIONS.items()
        if s == state
        and role in r.roles
        and (role != UNIT or relation is None or unit_may(r, relation))
        and (role == UNIT or side_may(r, side))
    ))


def table() -> list[dict[str, object]]:
    """The transition table as data (GET /api/cases/workflow, the pages)."""
    return [
        {
            "from": f,
            "action": a,
            "to": r.to,
            "roles": sorted(r.roles),
            "label": r.label,
            "needs_note": r.needs_note,
            "guards": list(r.guards),
            "effects": list(r.effects),
        }
        for (f, a), r in sorted(TRANSITIONS.items())
    ]


def step(state: str, action: str, role: str, note: str | None = None) -> Rule:
    """The rule for (state, action) if ``role`` may take it; raise IllegalTransition otherwise."""
    if action not in ACTION_LABELS:
        raise IllegalTransition(f"未知操作 {action!r}；可选：{', '.join(ACTIONS)}")
    rule = TRANSITIONS.get((state, action))
    if rule is None:
        allowed = sorted(a for (s, a) in TRANSITIONS if s == state)
        raise IllegalTransition(
            f"工单状态为{LABELS.get(state, state)}（{state}），不能{ACTION_LABELS[action]}（{action}）；"
            f"此时可以：{'、'.join(f'{ACTION_LABELS[a]}（{a}）' for a in allowed) or '无'}"
        )
    if role not in rule.roles:
        raise IllegalTransition(
            f"角色 {role} 不能{rule.label}（{action}）；需要 {', '.join(sorted(rule.roles))}",
            forbidden=True,
        )
    if rule.needs_note and not (note or "").strip():
        raise IllegalTransition(f"{rule.label}（{action}）须填写原因或内容")
    return rule


def replay(initial: str, log: list[tuple[str, str, str]]) -> str:
    """Replay audit rows (from, action, to) from ``initial``; raise ValueError if they don't chain."""
    state = initial
    for frm, action, to in log:
        if frm != state:
            raise ValueError(f"audit row starts from {frm} but the case was {state}")
        if action in ANNOTATIONS:
            if to != frm:
                raise ValueError(f"annotation {action} changed the status {frm} -> {to}")
            continue
        rule = TRANSITIONS.get((frm, action))
        if rule is None or rule.to != to:
            raise ValueError(f"audit row {frm} --{action}--> {to} is not in the transition table")
        state = to
    return state
