"""decide(): 属地接听, hours on the Chinese calendar, time zones, overflow (多援一), voicemail."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from callflow import CallContext, Decision, decide, load_config

SH = ZoneInfo("Asia/Shanghai")
KUNMING_MOBILE = "13987112345"
DALI_MOBILE = "13987212345"
BANNA_MOBILE = "13988112345"


@pytest.fixture(scope="module")
def config():
    return load_config()


def at(y, m, d, hh=10, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=SH)


WEEKDAY = at(2026, 3, 3)  # Tuesday, a normal working day


def call(config, caller, now=WEEKDAY, **kw) -> Decision:
    return decide(CallContext(caller, **kw), now, config)


@pytest.mark.parametrize(
    ("caller", "platform"),
    [
        (KUNMING_MOBILE, "kunming"),
        ("0871-61234567", "kunming"),
        (DALI_MOBILE, "dali"),
        ("0872-2123456", "dali"),
        (BANNA_MOBILE, "xishuangbanna"),
        ("0691-2123456", "xishuangbanna"),
    ],
)
def test_yunnan_callers_reach_their_prefecture(config, caller, platform):
    d = call(config, caller)
    assert (d.route, d.platform, d.prefecture, d.queue) == ("queue", platform, platform, f"q-{platform}")
    assert d.overflow_queue == "q-province" and d.overflow_after_s == 60
    assert d.mailbox == f"vm-{platform}" and d.greeting == "hotline-greeting"
    assert d.is_open and d.warnings == ()
    assert d.reason.startswith(platform) and "open" in d.reason


@pytest.mark.parametrize(
    "caller",
    [
        "13810012345",
        "021-61234567",
        "anonymous",
        "",
        None,
        "abc",
        "123",
        "+86 139 8711",
        "sip:junk@@;;",
        "+12125551234",
        "+85223456789",
    ],
)
def test_other_callers_reach_the_province(config, caller):
    d = call(config, caller)
    assert (d.route, d.platform, d.prefecture, d.queue) == ("queue", "province", None, "q-province")
    assert d.overflow_queue is None  # the province does not overflow to itself
    assert d.mailbox == "vm-province"
    assert "province" in d.reason


def test_local_number_on_dali_trunk(config):
    d = call(config, "2123456", trunk="trunk-dali")
    assert (d.platform, d.queue, d.caller_kind, d.caller_e164) == ("dali", "q-dali", "local", "+868722123456")


@pytest.mark.parametrize(
    ("hh", "mm", "is_open"),
    [
        (8, 59, False),
        (9, 0, True),
        (11, 59, True),
        (12, 0, False),
        (12, 59, False),
        (13, 0, True),
        (17, 29, True),
        (17, 30, False),
        (23, 0, False),
    ],
)
def test_workdays_platform_hours(config, hh, mm, is_open):
    # an empty provincial pool: the closed prefecture's caller goes to its mailbox (see test_callflow_closed)
    d = call(config, DALI_MOBILE, at(2026, 3, 3, hh, mm), queue_agents={"q-province": 0})
    assert d.is_open is is_open
    if is_open:
        assert (d.route, d.queue, d.mailbox) == ("queue", "q-dali", "vm-dali")
    else:
        assert (d.route, d.queue, d.overflow_queue, d.mailbox) == ("voicemail", None, None, "vm-dali")
        assert "closed" in d.reason


@pytest.mark.parametrize(
    ("day", "is_open"),
    [
        (date(2026, 3, 7), False),  # Saturday
        (date(2026, 3, 8), False),  # Sunday
        (date(2026, 10, 1), False),  # National Day
        (date(2026, 10, 7), False),
        (date(2026, 2, 17), False),  # Spring Festival (per chinese_calendar)
        (date(2026, 2, 23), False),
        (date(2026, 2, 14), True),  # swapped working Saturday (调休)
        (date(2026, 9, 20), True),  # swapped working Sunday
        (date(2026, 10, 10), True),  # swapped working Saturday
        (date(2026, 10, 8), True),
    ],
)
def test_workdays_platform_on_chinese_calendar(config, day, is_open):
    d = call(config, DALI_MOBILE, at(day.year, day.month, day.day, 10), queue_agents={"q-province": 0})
    assert d.is_open is is_open
    assert d.route == ("queue" if is_open else "voicemail")
    assert d.warnings == ()


def test_7x24_platforms_open_at_night_on_holidays(config):
    for caller in (KUNMING_MOBILE, "13810012345"):  # kunming and the province
        d = call(config, caller, at(2026, 10, 1, 3, 0))
        assert d.is_open and d.route == "queue"


def test_now_is_converted_to_platform_time(config):
    assert call(config, DALI_MOBILE, datetime(2026, 3, 3, 1, 30, tzinfo=UTC)).is_open  # 09:30 Beijing
    assert not call(config, DALI_MOBILE, datetime(2026, 3, 3, 0, 59, tzinfo=UTC)).is_open  # 08:59
    ny = datetime(2026, 3, 2, 20, 30, tzinfo=ZoneInfo("America/New_York"))  # = 01:30 UTC 3 March
    assert call(config, DALI_MOBILE, ny).is_open
    # 09:30 UTC on Friday 6 March is 17:30 Beijing: closed
    assert not call(config, DALI_MOBILE, datetime(2026, 3, 6, 9, 30, tzinfo=UTC)).is_open


def test_naive_now_is_taken_as_local_with_a_warning(config):
    d = call(config, DALI_MOBILE, datetime(2026, 3, 3, 9, 30))
    assert d.is_open and d.route == "queue"
    assert any("naive" in w for w in d.warnings)


def test_year_without_calendar_still_decides_loudly(config):
    d = call(config, DALI_MOBILE, at(2031, 3, 4, 10))  # Tuesday
    assert d.route == "queue" and d.is_open
    assert d.warnings and any("2031" in w for w in d.warnings)
    d = call(config, DALI_MOBILE, at(2031, 3, 8, 10), queue_agents={"q-province": 0})  # Saturday: weekday rule
    assert d.route == "voicemail" and not d.is_open and any("2031" in w for w in d.warnings)
    d = call(config, KUNMING_MOBILE, at(2031, 3, 8, 10))  # 7x24 still warns: deadlines need it too
    assert d.route == "queue" and any("2031" in w for w in d.warnings)


def test_admin_calendar_is_honoured_by_decide(tmp_path):
    (tmp_path / "2040.yaml").write_text(
        "year: 2040\nholidays: [2040-01-02]\nworkdays: [2040-02-04]\n", encoding="utf-8"
    )
    config = load_config(holiday_dir=tmp_path)
    assert not call(config, DALI_MOBILE, at(2040, 1, 2, 10)).is_open  # Monday holiday
    d = call(config, DALI_MOBILE, at(2040, 2, 4, 10))  # swapped Saturday
    assert d.route == "queue" and d.warnings == ()


def test_no_agents_in_prefecture_goes_straight_to_province(config):
    d = call(config, DALI_MOBILE, queue_agents={"q-dali": 0, "q-province": 3})
    assert (d.route, d.platform, d.queue, d.overflow_queue) == ("queue", "dali", "q-province", None)
    assert "q-dali" in d.reason and "多援一" in d.reason
    assert d.mailbox == "vm-dali"  # the message still belongs to Dali


def test_no_agents_anywhere_still_queues_at_province(config):
    d = call(config, DALI_MOBILE, queue_agents={"q-dali": 0, "q-province": 0})
    assert (d.route, d.queue) == ("queue", "q-province")
    assert "either" in d.reason


def test_unknown_or_staffed_agents_keep_prefecture_queue(config):
    for agents in (None, {}, {"q-dali": 2}, {"q-province": 0}):
        d = call(config, DALI_MOBILE, queue_agents=agents)
        assert (d.queue, d.overflow_queue, d.overflow_after_s) == ("q-dali", "q-province", 60)


def test_province_with_no_agents_keeps_province_queue(config):
    d = call(config, None, queue_agents={"q-province": 0})
    assert (d.route, d.queue) == ("queue", "q-province")


def test_decision_to_dict_is_json_ready(config):
    d = call(config, DALI_MOBILE, datetime(2031, 3, 4, 10))
    data = json.loads(json.dumps(d.to_dict(), ensure_ascii=False))
    assert data["queue"] == "q-dali" and isinstance(data["warnings"], list) and data["warnings"]
    assert set(data) == set(Decision.__dataclass_fields__)


def test_internal_error_gives_safe_default(config):
    d = decide(CallContext(DALI_MOBILE), "not a datetime", config)  # type: ignore[arg-type]
    assert (d.route, d.platform, d.queue) == ("queue", "province", config.default_queue)
    assert "error" in d.reason
    d = decide(CallContext(DALI_MOBILE), WEEKDAY, None)  # type: ignore[arg-type]
    assert d.route == "queue" and d.queue
    d = decide(CallContext(DALI_MOBILE, queue_agents={"q-dali": "many"}), WEEKDAY, config)  # type: ignore[dict-item]
    assert d.queue == "q-dali"  # a garbage agent count counts as unknown
