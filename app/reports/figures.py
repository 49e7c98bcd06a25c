"""Report figures, pure: additive counters (what SQL sums per group) and the rates derived from them.

Counters add up, rates do not: the database returns counters per (local day, group), and any roll-up
(week, month, the whole range, a platform) adds counters first and derives the rates last.

Calls (inbound, not simulated, that entered an agent queue; by the day they arrived):
- offered: calls offered to agents; answered: picked up by an agent; abandoned: caller hung up queued;
- 接通率 answer_rate = answered / offered; 15 秒接通率 within_15s_rate = answered within 15 s / offered;
- abandon_rate = abandoned / offered; ASA = mean hold of answered calls; AHT = mean talk time of
  answered calls that ended (the wrap-up time is not recorded, so AHT is talk time only).
Cases (工单 accepted in the period, not transferred out or merged, not from a simulated call):
- 办结率 finish_rate = (直接答复 + 办结) / cases; 按时办结率 on_time_rate = finished by the handling
  deadline / finished (a direct answer is on time); 满意率 satisfaction_rate = (满意 + 基本满意) / rated;
- 退回率 return_rate = dispatched cases a unit returned at least once / dispatched cases;
- 延期率 extension_rate = dispatched cases granted an extension / dispatched cases;
- repeat_rate = cases whose citizen had another case in the 30 days before / cases;
- direct_share (直接答复占比) = cases answered directly on the call / cases.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, timedelta
from typing import Any, Self

SERVICE_LEVEL_S = 15
REPEAT_WINDOW_DAYS = 30
PERIODS = ("day", "week", "month", "total")


class _Counts:
    """Counters that add up field by field (a day's figures into a period's)."""

    def add(self, other: Self) -> None:
        for f in fields(self):  # type: ignore[arg-type]  # only dataclasses derive from it
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class CallCounts(_Counts):
    offered: int = 0
    answered: int = 0
    within_15s: int = 0
    abandoned: int = 0
    hold_sum: float = 0.0
    hold_n: int = 0
    talk_sum: float = 0.0
    talk_n: int = 0


@dataclass
class CaseCounts(_Counts):
    cases: int = 0
    direct: int = 0
    finished: int = 0
    on_time: int = 0
    rated: int = 0
    satisfied: int = 0
    dispatched: int = 0
    returned: int = 0
    extended: int = 0
    repeat: int = 0


def _rate(n: float, d: float) -> float | None:
    return round(n / d, 4) if d else None


def _mean(s: float, n: int) -> float | None:
    return round(s / n, 1) if n else None


def call_figures(c: CallCounts) -> dict[str, Any]:
    return {
        "offered": c.offered,
        "answered": c.answered,
        "abandoned": c.abandoned,
        "answered_within_15s": c.within_15s,
        "answer_rate": _rate(c.answered, c.offered),
        "within_15s_rate": _rate(c.within_15s, c.offered),
        "abandon_rate": _rate(c.abandoned, c.offered),
        "asa_s": _mean(c.hold_sum, c.hold_n),
        "aht_s": _mean(c.talk_sum, c.talk_n),
    }


def case_figures(c: CaseCounts) -> dict[str, Any]:
    return {
        "cases": c.cases,
        "finished": c.finished,
        "direct": c.direct,
        "rated": c.rated,
        "dispatched": c.dispatched,
        "finish_rate": _rate(c.finished, c.cases),
        "on_time_rate": _rate(c.on_time, c.finished),
        "satisfaction_rate": _rate(c.satisfied, c.rated),
        "return_rate": _rate(c.returned, c.dispatched),
        "extension_rate": _rate(c.extended, c.dispatched),
        "repeat_rate": _rate(c.repeat, c.cases),
        "direct_share": _rate(c.direct, c.cases),
    }


#: The columns of a report, in order, with their Chinese headings and kind (count, rate, seconds).
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("offered", "呼入量", "n"),
    ("answered", "接听量", "n"),
    ("answer_rate", "接通率", "%"),
    ("within_15s_rate", "15秒接通率", "%"),
    ("abandon_rate", "放弃率", "%"),
    ("asa_s", "平均应答时长(秒)", "s"),
    ("aht_s", "平均通话时长(秒)", "s"),
    ("cases", "受理工单", "n"),
    ("finish_rate", "办结率", "%"),
    ("on_time_rate", "按时办结率", "%"),
    ("satisfaction_rate", "满意率", "%"),
    ("return_rate", "退回率", "%"),
    ("extension_rate", "延期率", "%"),
    ("repeat_rate", "重复来电率", "%"),
    ("direct_share", "直接答复占比", "%"),
)
CALL_KEYS = frozenset(k for k in call_figures(CallCounts()))


def period_key(day: date, period: str) -> str:
    """The bucket a local day falls in: the day, its ISO week's Monday, its month, or the whole range."""
    if period == "day":
        return day.isoformat()
    if period == "week":
        return (day - timedelta(days=day.weekday())).isoformat()
    if period == "month":
        return day.strftime("%Y-%m")
    return "total"


def period_label(key: str, period: str) -> str:
    if period == "week":
        monday = date.fromisoformat(key)
        return f"{monday.isoformat()} 周"
    if period == "month":
        y, m = key.split("-")
        return f"{y}年{int(m)}月"
    if period == "total":
        return "合计"
    return key


def format_value(value: Any, kind: str) -> str:
    """How a figure reads on the page and in the exports: rates as percentages, '—' when undefined."""
    if value is None:
        return "—"
    if kind == "%":
        return f"{value * 100:.1f}%"
    if kind == "s":
        return f"{value:.1f}"
    return str(value)


#: The calls or cases a figure drills down to (its numerator, or for 按时办结率 and 满意率 the exceptions a
#: supervisor looks for), with the list's Chinese title.
DRILL: dict[str, tuple[str, str]] = {
    "offered": ("offered", "呼入电话"),
    "answered": ("answered", "已接听电话"),
    "answer_rate": ("answered", "已接听电话"),
    "within_15s_rate": ("within_15s", "15秒内接听的电话"),
    "abandon_rate": ("abandoned", "放弃的电话"),
    "asa_s": ("answered", "已接听电话"),
    "aht_s": ("answered", "已接听电话"),
    "cases": ("cases", "受理工单"),
    "finish_rate": ("finished", "已办结工单"),
    "on_time_rate": ("late", "超时办结工单"),
    "satisfaction_rate": ("dissatisfied", "不满意工单"),
    "return_rate": ("returned", "被退回工单"),
    "extension_rate": ("extended", "延期工单"),
    "repeat_rate": ("repeat", "重复来电工单"),
    "direct_share": ("direct", "直接答复工单"),
}
