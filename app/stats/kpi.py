"""Contact-centre KPIs, pure: from call records to the figures on the wallboard.

Definitions (GB/T 33358-2016 speaks of 人工服务请求 and 15 秒接通率):
- offered: inbound calls that entered an agent queue (voicemail-only calls are not offered to agents);
- answered: offered calls an agent picked up; abandoned: the caller hung up while queued;
- answer_rate = answered / offered; within_15s_rate = answered with hold ≤ 15 s / offered;
- asa_s: average speed of answer = mean hold time of the answered calls;
- half-hour buckets by queue entry time in the platform's local time (offered vs answered).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

SERVICE_LEVEL_S = 15
SLOTS = 48


@dataclass(frozen=True)
class CallRecord:
    platform: str | None
    queued_at: datetime | None
    answered_at: datetime | None
    outcome: str
    hold_s: int | None = None


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=tz)
    return start, start + timedelta(days=1)


def today(now: datetime, tz: ZoneInfo) -> date:
    return now.astimezone(tz).date()


def hold_of(c: CallRecord) -> float | None:
    if c.answered_at is None:
        return None
    if c.hold_s is not None:
        return float(c.hold_s)
    if c.queued_at is not None:
        return max(0.0, (c.answered_at - c.queued_at).total_seconds())
    return None


def slot_of(t: datetime, tz: ZoneInfo) -> int:
    local = t.astimezone(tz)
    return local.hour * 2 + (1 if local.minute >= 30 else 0)


def slot_label(i: int) -> str:
    return f"{i // 2:02d}:{'30' if i % 2 else '00'}"


def compute(calls: Iterable[CallRecord], tz: ZoneInfo) -> dict[str, Any]:
    offered = answered = abandoned = within = 0
    holds: list[float] = []
    off_slots = [0] * SLOTS
    ans_slots = [0] * SLOTS
    for c in calls:
        if c.queued_at is None:
            continue
        offered += 1
        s = slot_of(c.queued_at, tz)
        off_slots[s] += 1
        if c.answered_at is not None:
            answered += 1
            ans_slots[s] += 1
            h = hold_of(c)
            if h is not None:
                holds.append(h)
                if h <= SERVICE_LEVEL_S:
                    within += 1
        elif c.outcome == "abandoned":
            abandoned += 1
    return {
        "offered": offered,
        "answered": answered,
        "abandoned": abandoned,
        "answer_rate": round(answered / offered, 4) if offered else None,
        "within_15s_rate": round(within / offered, 4) if offered else None,
        "answered_within_15s": within,
        "asa_s": round(sum(holds) / len(holds), 1) if holds else None,
        "half_hours": [
            {"slot": slot_label(i), "offered": off_slots[i], "answered": ans_slots[i]} for i in range(SLOTS)
        ],
    }


def by_platform(calls: Iterable[CallRecord], tz: ZoneInfo) -> dict[str, Any]:
    """Province-wide figures under "all", and one entry per platform."""
    rows = list(calls)
    groups: dict[str, list[CallRecord]] = {}
    for c in rows:
        groups.setdefault(c.platform or "unknown", []).append(c)
    return {"all": compute(rows, tz), "platforms": {p: compute(cs, tz) for p, cs in sorted(groups.items())}}
