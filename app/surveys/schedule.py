"""When to call a citizen back: calling hours and the retry schedule. Pure (no I/O, no clock).

Times are aware datetimes; the calling window is in the platform's local time zone. A window whose
end is before its start (e.g. 20:00–02:00) crosses midnight.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class CallingRules:
    zone: ZoneInfo
    start: time = time(9, 0)
    end: time = time(20, 0)
    weekdays: frozenset[int] = frozenset(range(7))  # Monday = 0; the window's start day counts
    retry_interval: timedelta = timedelta(hours=2)
    max_attempts: int = 3


def _window_of(day: datetime, rules: CallingRules) -> tuple[datetime, datetime]:
    """The window that starts on ``day``'s local date."""
    start = datetime.combine(day.date(), rules.start, tzinfo=rules.zone)
    end = datetime.combine(day.date(), rules.end, tzinfo=rules.zone)
    if end <= start:
        end += timedelta(days=1)
    return start, end


def allowed(at: datetime, rules: CallingRules) -> bool:
    return earliest_allowed(at, rules) == at


def earliest_allowed(at: datetime, rules: CallingRules) -> datetime:
    """``at`` if calling is allowed then, else the start of the next calling window."""
    local = at.astimezone(rules.zone)
    # the window that started yesterday may still be open (a window across midnight)
    for offset in range(-1, 9):
        day = local + timedelta(days=offset)
        start, end = _window_of(day, rules)
        if start.weekday() not in rules.weekdays or end <= local:
            continue
        if start <= local:
            return at
        return start.astimezone(at.tzinfo)
    raise ValueError("calling rules allow no day of the week")


def next_call_time(
    now: datetime, last_attempt: datetime | None, attempts: int, rules: CallingRules
) -> datetime | None:
    """When the next call may be placed, or None when every attempt has been used.

    The first call goes out as soon as calling is allowed; each retry waits ``retry_interval``
    after the previous attempt, and then for the calling window."""
    if attempts >= rules.max_attempts:
        return None
    earliest = now if last_attempt is None else max(now, last_attempt + rules.retry_interval)
    return earliest_allowed(earliest, rules)
