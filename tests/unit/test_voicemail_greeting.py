"""The off-hours greeting says when staff are back, on the Chinese calendar."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from callflow import load_config
from callflow.greeting import BUSY, LATER, TODAY, TOMORROW, next_opening, voicemail_greeting

CN = ZoneInfo("Asia/Shanghai")
CFG = load_config()
DALI = CFG.platform("dali")  # workdays 09:00-12:00, 13:00-17:30
KUNMING = CFG.platform("kunming")  # 7x24


@pytest.mark.parametrize(
    "when,expected",
    [
        (datetime(2026, 11, 26, 12, 30, tzinfo=CN), TODAY),  # Thursday lunch break: back at 13:00
        (datetime(2026, 11, 26, 7, 0, tzinfo=CN), TODAY),  # Thursday early morning: back at 09:00
        (datetime(2026, 11, 26, 18, 0, tzinfo=CN), TOMORROW),  # Thursday evening: back Friday
        (datetime(2026, 11, 27, 18, 0, tzinfo=CN), LATER),  # Friday evening: back Monday
        (datetime(2026, 9, 30, 18, 0, tzinfo=CN), LATER),  # eve of National Day: back 10-08
        (datetime(2026, 10, 9, 18, 0, tzinfo=CN), TOMORROW),  # Friday 10-09: Saturday 10-10 is a 调休 workday
        (datetime(2026, 11, 26, 10, 0, tzinfo=CN), BUSY),  # open, but nobody answered in time
    ],
)
def test_dali_greeting(when, expected):
    assert voicemail_greeting(DALI, when, CFG) == expected


def test_utc_time_is_read_in_platform_time():
    # 2026-11-26 10:00 UTC = 18:00 in Kunming/Dali
    assert voicemail_greeting(DALI, datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo("UTC")), CFG) == TOMORROW


def test_seven_by_24_platform_is_busy_not_closed():
    assert voicemail_greeting(KUNMING, datetime(2026, 10, 1, 3, 0, tzinfo=CN), CFG) == BUSY
    assert next_opening(KUNMING, datetime(2026, 10, 1, 3, 0, tzinfo=CN), CFG) is None


def test_next_opening_after_national_day():
    got = next_opening(DALI, datetime(2026, 9, 30, 18, 0, tzinfo=CN), CFG)
    assert got == datetime(2026, 10, 8, 9, 0, tzinfo=CN)
