"""WorkCalendar: chinese_calendar data + administrator files + working-day arithmetic."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from callflow import CalendarGap, WorkCalendar

SH = ZoneInfo("Asia/Shanghai")
WINDOWS = [["09:00", "12:00"], ["13:00", "17:30"]]
#: A year no library will ever have data for (the calendar tests must not change when chinese_calendar
#: learns 2027, nor on 1 January 2028): "unknown year" tests use it, with an administrator file for
#: the year before when they need a known year to cross from.
UNKNOWN_YEAR = 2099
KNOWN_2098 = "year: 2098\nsource: test fixture (no holidays)\nholidays: []\n"
FAKE_YEAR_FILE = """\
year: 2040
source: test fixture, not real data
holidays:
  - 2040-01-02
  - ["2040-02-06", "2040-02-08"]
workdays:
  - 2040-02-04
"""


@pytest.fixture(scope="module")
def cal():
    return WorkCalendar()


def at(y, m, d, hh=10, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=SH)


def test_library_years_are_covered(cal):
    years = cal.covered_years()
    assert set(range(2004, 2027)) <= years
    assert cal.has_year(2026)
    assert not cal.has_year(UNKNOWN_YEAR)


def test_holidays_and_swapped_workdays_2026(cal):
    assert cal.is_workday(date(2026, 3, 3))  # Tuesday
    assert not cal.is_workday(date(2026, 3, 7))  # Saturday
    for day in range(1, 8):
        assert not cal.is_workday(date(2026, 10, day))  # National Day
    assert not cal.is_workday(date(2026, 2, 17))  # Spring Festival
    for d in (date(2026, 2, 14), date(2026, 2, 28), date(2026, 9, 20), date(2026, 10, 10)):
        assert d.weekday() >= 5 and chinese_calendar.is_workday(d)
        assert cal.is_workday(d), d
    assert cal.is_workday(datetime(2026, 2, 14, 10, 0))  # datetimes accepted too


def test_unknown_year_raises_gap_and_guess_warns(cal):
    with pytest.raises(CalendarGap) as info:
        cal.is_workday(date(2099, 3, 3))
    assert info.value.year == 2099 and "2099" in str(info.value)
    ok, warning = cal.is_workday_or_guess(date(2099, 3, 3))  # Tuesday
    assert ok is True and warning and "2099" in warning
    ok, warning = cal.is_workday_or_guess(date(2099, 3, 7))  # Saturday
    assert ok is False and warning and "2099" in warning
    assert cal.is_workday_or_guess(date(2026, 3, 8)) == (False, None)


def test_coverage_warnings_for_this_and_next_year(cal):
    warnings = cal.coverage_warnings(date(2098, 6, 1))
    assert len(warnings) == 2
    assert "2098" in warnings[0] and "2099" in warnings[1]
    assert "hotline calendar load" in warnings[0]
    assert cal.coverage_warnings(date(2025, 6, 1)) == []


def test_admin_file_makes_fake_year_known(tmp_path):
    (tmp_path / "2040.yaml").write_text(FAKE_YEAR_FILE, encoding="utf-8")
    cal = WorkCalendar(tmp_path)
    assert cal.has_year(2040) and 2040 in cal.covered_years()
    assert not cal.is_workday(date(2040, 1, 2))  # Monday, declared holiday
    assert not cal.is_workday(date(2040, 2, 7))  # inside the range
    assert date(2040, 2, 4).weekday() == 5 and cal.is_workday(date(2040, 2, 4))  # swapped Saturday
    assert cal.is_workday(date(2040, 1, 3))  # unlisted weekday
    assert not cal.is_workday(date(2040, 1, 7))  # unlisted Saturday
    assert cal.coverage_warnings(date(2040, 1, 1))[0].startswith("no holiday calendar for 2041")


def test_admin_file_overrides_library(tmp_path):
    (tmp_path / "2026.yaml").write_text("year: 2026\nholidays: [2026-03-03]\nworkdays: [2026-10-07]\n")
    cal = WorkCalendar(tmp_path)
    assert not cal.is_workday(date(2026, 3, 3))
    assert cal.is_workday(date(2026, 10, 7))
    assert not cal.is_workday(date(2026, 10, 6))  # library still answers for unlisted dates


def test_save_admin_file_validates_then_writes(tmp_path):
    cal = WorkCalendar(tmp_path / "none-yet")
    path = cal.save_admin_file(FAKE_YEAR_FILE, tmp_path / "hol")
    assert path == tmp_path / "hol" / "2040.yaml" and path.read_text() == FAKE_YEAR_FILE
    assert cal.has_year(2040) and WorkCalendar(tmp_path / "hol").has_year(2040)
    with pytest.raises(ValueError):
        cal.save_admin_file("year: 2041\nholidays: [2040-01-01]\n", tmp_path / "hol")
    assert sorted(p.name for p in (tmp_path / "hol").iterdir()) == ["2040.yaml"]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("2040.yaml", "holidays: []\n", "'year'"),
        ("2040.yaml", "year: 2040\n", "no 'holidays'"),
        ("2040.yaml", "year: 2040\nholidays: [2041-01-01]\n", "not in year 2040"),
        ("2040.yaml", "year: 2040\nholidays: ['2040-02-30']\n", "not a real date"),
        ("2040.yaml", "year: 2040\nholidays: [[2040-02-08, 2040-02-06]]\n", "before it starts"),
        ("2040.yaml", "year: 2040\nholidays: [[2040-02-06]]\n", r"\[start, end\]"),
        ("2040.yaml", "year: 2040\nholidays: [2040-01-02]\nworkdays: [2040-01-02]\n", "both"),
        ("2040.yaml", "year: 2040\nholiday: [2040-01-02]\n", "unknown keys"),
        ("2040.yaml", "year: 2040\nholidays: 2040-01-02\n", "must be a list"),
        ("2040.yaml", "year: 2040\nholidays: [tomorrow]\n", "expected a date"),
        ("2040.yaml", "year: [2040\n", "not valid YAML"),
        ("2040.yaml", "- 2040-01-01\n", "mapping"),
        ("2041.yaml", "year: 2040\nholidays: []\n", "named for 2041"),
    ],
)
def test_bad_admin_files_are_refused_clearly(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as info:
        WorkCalendar().load_file(path)
    assert name in str(info.value)  # the message names the file
    with pytest.raises(ValueError, match=message):
        WorkCalendar(tmp_path)


def test_add_working_days_across_weekend_and_national_day(cal):
    assert cal.add_working_days(at(2026, 3, 6, 15), 1) == at(2026, 3, 9, 15)  # Fri → Mon
    assert cal.add_working_days(at(2026, 3, 6, 15), 5) == at(2026, 3, 13, 15)
    assert cal.add_working_days(at(2026, 3, 7, 15), 1) == at(2026, 3, 9, 15)  # from a Saturday
    assert cal.add_working_days(at(2026, 9, 30), 1) == at(2026, 10, 8)  # National Day 10-01..07
    assert cal.add_working_days(at(2026, 9, 30), 3) == at(2026, 10, 10)  # swapped Saturday counts
    assert cal.add_working_days(at(2026, 3, 6), 0) == at(2026, 3, 6)
    assert cal.add_working_days(at(2026, 3, 9), -1) == at(2026, 3, 6)
    assert cal.add_working_days(at(2026, 3, 6), 1).tzinfo is SH


def test_working_days_between_is_inverse_of_add(cal):
    start = at(2026, 9, 28)
    for n in (0, 1, 3, 10, 15):
        assert cal.working_days_between(start, cal.add_working_days(start, n)) == n
    assert cal.working_days_between(at(2026, 10, 8), at(2026, 9, 30)) == -1


def test_working_day_arithmetic_into_unknown_year(tmp_path):
    (tmp_path / "2098.yaml").write_text(KNOWN_2098, encoding="utf-8")
    cal = WorkCalendar(tmp_path)  # 2098 known (no holidays), 2099 unknown
    assert cal.add_working_days(at(2098, 12, 29), 1) == at(2098, 12, 30)  # known year: fine
    with pytest.raises(CalendarGap) as info:
        cal.add_working_days(at(2098, 12, 30), 5)
    assert info.value.year == 2099
    assert cal.add_working_days(at(2098, 12, 30), 5, strict=False) == at(2099, 1, 6)  # Mon-Fri guessed


def test_add_working_hours(cal):
    add = cal.add_working_hours
    assert add(at(2026, 3, 3, 11), 2, WINDOWS) == at(2026, 3, 3, 14)  # across lunch
    assert add(at(2026, 3, 3, 12, 30), 1, WINDOWS) == at(2026, 3, 3, 14)  # starts in lunch
    assert add(at(2026, 3, 3, 17), 2, WINDOWS) == at(2026, 3, 4, 10, 30)  # overnight
    assert add(at(2026, 3, 6, 17), 2, WINDOWS) == at(2026, 3, 9, 10, 30)  # Fri → Mon
    assert add(at(2026, 3, 7, 10), 2, WINDOWS) == at(2026, 3, 9, 11)  # Saturday start
    assert add(at(2026, 3, 3, 7), 1, WINDOWS) == at(2026, 3, 3, 10)  # before opening
    assert add(at(2026, 3, 3, 16, 30), 1, WINDOWS) == at(2026, 3, 3, 17, 30)  # exactly at close
    assert add(at(2026, 9, 30, 17), 2, WINDOWS) == at(2026, 10, 8, 10, 30)  # National Day
    assert add(at(2026, 3, 3, 11), 0.5, [(time(9), time(12))]) == at(2026, 3, 3, 11, 30)
    assert add(at(2026, 3, 3, 11), 0, WINDOWS) == at(2026, 3, 3, 11)


def test_add_working_hours_rejects_bad_windows(cal):
    with pytest.raises(ValueError):
        cal.add_working_hours(at(2026, 3, 3), 1, [])
    with pytest.raises(ValueError):
        cal.add_working_hours(at(2026, 3, 3), 1, [["12:00", "09:00"]])
    with pytest.raises(ValueError):
        cal.add_working_hours(at(2026, 3, 3), 1, [["09:00", "12:00"], ["11:00", "13:00"]])
    with pytest.raises(ValueError):
        cal.add_working_hours(at(2026, 3, 3), -1, WINDOWS)
