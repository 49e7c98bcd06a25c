"""Calling hours and the retry schedule of satisfaction call-backs (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.surveys.schedule import CallingRules, allowed, earliest_allowed, next_call_time

SH = ZoneInfo("Asia/Shanghai")
RULES = CallingRules(zone=SH)  # 09:00–20:00 every day, 3 tries, 2 h apart


def sh(*a: int) -> datetime:
    return datetime(*a, tzinfo=SH)


def test_first_call_inside_hours_goes_now():
    now = sh(2026, 11, 26, 10, 0)
    assert next_call_time(now, None, 0, RULES) == now


def test_reply_in_the_evening_is_called_next_morning():
    assert next_call_time(sh(2026, 11, 26, 21, 30), None, 0, RULES) == sh(2026, 11, 27, 9, 0)


def test_reply_after_midnight_is_called_the_same_morning():
    assert next_call_time(sh(2026, 11, 27, 0, 40), None, 0, RULES) == sh(2026, 11, 27, 9, 0)


def test_retry_that_would_fall_after_hours_moves_to_next_day():
    last = sh(2026, 11, 26, 19, 10)  # + 2 h = 21:10, after 20:00
    assert next_call_time(last, last, 1, RULES) == sh(2026, 11, 27, 9, 0)


def test_retry_across_new_year_and_given_in_utc():
    last = datetime(2026, 12, 31, 11, 30, tzinfo=UTC)  # 19:30 Shanghai
    got = next_call_time(last + timedelta(minutes=1), last, 2, RULES)
    assert got == sh(2027, 1, 1, 9, 0)


def test_retry_waits_the_interval_inside_hours():
    last = sh(2026, 11, 26, 9, 5)
    assert next_call_time(sh(2026, 11, 26, 9, 6), last, 1, RULES) == sh(2026, 11, 26, 11, 5)


def test_no_more_calls_after_the_last_attempt():
    assert next_call_time(sh(2026, 11, 26, 10, 0), sh(2026, 11, 26, 8, 0), 3, RULES) is None


def test_window_end_is_exclusive_and_start_inclusive():
    assert allowed(sh(2026, 11, 26, 9, 0), RULES)
    assert allowed(sh(2026, 11, 26, 19, 59, 59), RULES)
    assert not allowed(sh(2026, 11, 26, 20, 0), RULES)


def test_window_across_midnight():
    night = CallingRules(zone=SH, start=time(18, 0), end=time(2, 0))
    assert allowed(sh(2026, 11, 27, 1, 30), night)  # still the window that opened yesterday
    assert earliest_allowed(sh(2026, 11, 27, 2, 0), night) == sh(2026, 11, 27, 18, 0)


def test_weekdays_only_skips_the_weekend():
    weekdays = CallingRules(zone=SH, weekdays=frozenset(range(5)))
    friday_evening = sh(2026, 11, 27, 20, 30)  # Friday
    assert earliest_allowed(friday_evening, weekdays) == sh(2026, 11, 30, 9, 0)  # Monday


def test_no_day_allowed_is_an_error():
    with pytest.raises(ValueError):
        earliest_allowed(sh(2026, 11, 26, 10, 0), CallingRules(zone=SH, weekdays=frozenset()))


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1)), st.integers(0, 2))
def test_next_call_is_always_inside_hours_and_not_before_the_interval(naive, attempts):
    now = naive.replace(tzinfo=UTC)
    last = now - timedelta(minutes=30) if attempts else None
    got = next_call_time(now, last, attempts, RULES)
    assert got is not None and got >= now
    assert allowed(got, RULES)
    local = got.astimezone(SH)
    assert time(9, 0) <= local.time() < time(20, 0)
    if last is not None:
        assert got >= last + RULES.retry_interval
    earliest = max(now, last + RULES.retry_interval) if last else now
    assert got - earliest <= timedelta(hours=13)  # never more than the night between two windows
