"""Per-stage deadlines on the Chinese working calendar (weekends, National Day 2026, a year without data)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from app.cases.deadlines import Clock
from app.cases.rules import CaseRules
from callflow.calendar import WorkCalendar

Z = ZoneInfo("Asia/Shanghai")


def at(*a: int) -> datetime:
    return datetime(*a, tzinfo=Z)  # type: ignore[misc]


@pytest.fixture
def clock(tmp_path) -> Clock:
    return Clock(WorkCalendar(tmp_path / "no-admin-files"), Z, CaseRules())


@pytest.mark.parametrize(
    "taken, due",
    [
        (at(2026, 11, 26, 15, 59), at(2026, 11, 26, 17, 30)),  # Thursday before 16:00: same day
        (at(2026, 11, 26, 16, 0), at(2026, 11, 27, 10, 0)),  # at 16:00: by 10:00 next working day
        (at(2026, 11, 27, 16, 30), at(2026, 11, 30, 10, 0)),  # Friday evening: Monday 10:00
        (at(2026, 11, 28, 11, 0), at(2026, 11, 30, 10, 0)),  # Saturday: Monday 10:00
        (at(2026, 9, 30, 16, 30), at(2026, 10, 8, 10, 0)),  # eve of National Day: after the holiday
        (at(2026, 10, 3, 9, 0), at(2026, 10, 8, 10, 0)),  # during the holiday
    ],
)
def test_dispatch_due(clock, taken, due):
    assert clock.dispatch_due(taken) == due


@pytest.mark.parametrize(
    "dispatched, due",
    [
        (at(2026, 11, 26, 9, 0), at(2026, 11, 26, 11, 0)),
        (at(2026, 11, 26, 11, 30), at(2026, 11, 26, 14, 30)),  # lunch break does not count
        (at(2026, 11, 27, 17, 0), at(2026, 11, 30, 10, 30)),  # across the weekend
        (at(2026, 9, 30, 17, 0), at(2026, 10, 8, 10, 30)),  # across National Day
    ],
)
def test_sign_due_in_working_hours(clock, dispatched, due):
    assert clock.sign_due(dispatched) == due


def test_handle_due_by_type_across_national_day(clock):
    start = at(2026, 9, 30, 10, 0)
    # Oct 1-7 holiday; Oct 10 (Saturday) is a swapped working day
    assert clock.handle_due(start, "consultation") == at(2026, 10, 13, 10, 0)
    assert clock.handle_due(start, "complaint") == at(2026, 10, 27, 10, 0)
    assert clock.extended(at(2026, 10, 13, 10, 0)) == at(2026, 11, 3, 10, 0)
    assert clock.return_due(at(2026, 11, 27, 10, 0)) == at(2026, 11, 28, 10, 0)  # 24 clock hours
    assert not clock.warnings


def test_year_without_calendar_falls_back_and_warns(tmp_path):
    # 2098 known (an administrator file without holidays), 2099 known by no library, ever
    (tmp_path / "2098.yaml").write_text("year: 2098\nholidays: []\n", encoding="utf-8")
    clock = Clock(WorkCalendar(tmp_path), Z, CaseRules())
    due = clock.handle_due(at(2098, 12, 29, 10, 0), "complaint")
    assert due.astimezone(Z).date().year == 2099
    assert due.astimezone(Z).weekday() < 5
    assert clock.warnings and all("2099" in w and "2098" not in w for w in clock.warnings)


def test_lights(clock):
    now = at(2026, 11, 26, 10, 0)  # Thursday
    assert clock.light(at(2026, 11, 26, 9, 59), now) == "red"
    assert clock.light(at(2026, 11, 26, 14, 0), now) == "yellow"  # within 4 working hours (10-12, 13-15)
    assert clock.light(at(2026, 11, 26, 15, 1), now) == "green"
    assert clock.light(None, now) == ""


def test_rules_reject_shared_prefixes():
    with pytest.raises(ValueError, match="unique"):
        CaseRules(number_prefixes={"kunming": "KM", "dali": "KM"})
