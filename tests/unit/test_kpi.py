"""KPI arithmetic of the wallboard (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from app.stats.kpi import CallRecord, by_platform, compute, day_bounds, slot_label, slot_of, today

SH = ZoneInfo("Asia/Shanghai")


def at(h: int, m: int = 0, s: int = 0) -> datetime:
    return datetime(2026, 11, 26, h, m, s, tzinfo=SH)


def answered(q: datetime, hold: int, platform: str = "dali", use_hold: bool = True) -> CallRecord:
    return CallRecord(platform, q, q + timedelta(seconds=hold), "completed", hold if use_hold else None)


def test_empty_day_has_no_rates() -> None:
    k = compute([], SH)
    assert (k["offered"], k["answered"], k["abandoned"]) == (0, 0, 0)
    assert k["answer_rate"] is None and k["within_15s_rate"] is None and k["asa_s"] is None
    assert len(k["half_hours"]) == 48 and k["half_hours"][19]["slot"] == "09:30"


def test_rates_service_level_and_asa() -> None:
    calls = [
        answered(at(9, 5), 5),
        answered(at(9, 10), 15),  # exactly 15 s counts as within
        answered(at(9, 40), 16),
        CallRecord("dali", at(9, 45), None, "abandoned", 30),
        CallRecord("dali", None, None, "voicemail"),  # never offered to an agent
    ]
    k = compute(calls, SH)
    assert (k["offered"], k["answered"], k["abandoned"]) == (4, 3, 1)
    assert k["answer_rate"] == 0.75
    assert k["answered_within_15s"] == 2 and k["within_15s_rate"] == 0.5
    assert k["asa_s"] == 12.0
    assert k["half_hours"][18] == {"slot": "09:00", "offered": 2, "answered": 2}
    assert k["half_hours"][19] == {"slot": "09:30", "offered": 2, "answered": 1}


def test_hold_falls_back_to_timestamps() -> None:
    k = compute([answered(at(10), 20, use_hold=False)], SH)
    assert k["asa_s"] == 20.0 and k["within_15s_rate"] == 0.0


def test_slots_use_local_time_not_utc() -> None:
    utc = datetime(2026, 11, 26, 1, 45, tzinfo=UTC)  # 09:45 in Shanghai
    assert slot_of(utc, SH) == 19 and slot_label(19) == "09:30"
    assert slot_label(0) == "00:00" and slot_label(47) == "23:30"


def test_today_is_the_local_day() -> None:
    late_utc = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)  # 01:00 on the 27th in Shanghai
    assert today(late_utc, SH).isoformat() == "2026-11-27"
    start, end = day_bounds(today(late_utc, SH), SH)
    assert start.astimezone(UTC) == datetime(2026, 11, 26, 16, 0, tzinfo=UTC)
    assert end - start == timedelta(days=1)


def test_per_platform_and_province_totals() -> None:
    calls = [
        answered(at(9), 3, "dali"),
        answered(at(9), 30, "kunming"),
        CallRecord("kunming", at(9, 1), None, "abandoned"),
    ]
    k = by_platform(calls, SH)
    assert k["all"]["offered"] == 3 and k["all"]["answered"] == 2
    assert k["platforms"]["dali"]["answer_rate"] == 1.0
    assert k["platforms"]["kunming"]["answer_rate"] == 0.5
    assert k["platforms"]["kunming"]["within_15s_rate"] == 0.0
