"""Queue call-back decisions (callflow.callback): who is offered, when, and where the placeholder waits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml

from callflow import CallContext, ConfigError, decide, default_config_path, parse_config
from callflow.callback import (
    CallbackSettings,
    callable_number,
    offer_after,
    parse_callback,
    placeholder_position,
)

ON = CallbackSettings(offer_after_s=45)


def test_only_callable_numbers_are_offered():
    assert callable_number("+8613987112345", "mobile") == "13987112345"
    assert callable_number("+8687163123456", "landline") == "087163123456"  # the trunk 0 back
    for e164, kind in ((None, "anonymous"), ("+8613987112345", "invalid"), ("+14155552671", "international")):
        assert callable_number(e164, kind) is None


def test_the_offer_comes_once_after_the_wait_and_only_before_the_queue_gives_up():
    assert offer_after(ON, "kunming", "+8613987112345", "mobile", 60) == 45
    assert offer_after(ON, "kunming", "+8613987112345", "mobile", 0) == 45  # no limit
    assert offer_after(ON, "kunming", "+8613987112345", "mobile", 45) == 0  # overflow/voicemail first
    assert offer_after(ON, "kunming", None, "anonymous", 60) == 0  # nobody to call back
    assert offer_after(CallbackSettings(), "kunming", "+8613987112345", "mobile", 60) == 0  # off
    only = CallbackSettings(offer_after_s=45, platforms=("dali",))
    assert offer_after(only, "kunming", "+8613987112345", "mobile", 60) == 0
    assert offer_after(only, "dali", "+8613987212345", "mobile", 60) == 45


def test_the_placeholder_keeps_the_callers_place():
    assert placeholder_position("3") == 3
    assert placeholder_position(" 1 ") == 1
    for unknown in ("", None, "x", "0", "-2"):
        assert placeholder_position(unknown) == 1  # unknown: the head (they waited longest)


def test_settings_are_checked():
    s = parse_callback({"offer_after_s": 30, "key": 2, "ring_s": 20, "platforms": ["dali"]})
    assert (s.offer_after_s, s.key, s.ring_s, s.platforms) == (30, "2", 20, ("dali",))
    assert parse_callback(None) == CallbackSettings()
    for bad in ({"offer_after_s": -1}, {"key": "12"}, {"key": 0}, {"key": "#"}, {"ring_s": 1}, {"answer_s": 99},
                {"platforms": "dali"}, [1]):  # fmt: skip
        with pytest.raises(ValueError):
            parse_callback(bad)
    data = yaml.safe_load(default_config_path().read_text(encoding="utf-8"))
    data["queue_callback"] = {"offer_after_s": 30, "platforms": ["atlantis"]}
    with pytest.raises(ConfigError, match="atlantis"):
        parse_config(data)


def test_decide_carries_the_offer():
    data = yaml.safe_load(default_config_path().read_text(encoding="utf-8"))
    data["queue_callback"] = {"offer_after_s": 40}
    for p in data["platforms"]:
        p["hours"] = {"mode": "7x24"}
    config = parse_config(data)
    now = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
    assert decide(CallContext("13987112345"), now, config).callback_after_s == 40
    assert decide(CallContext(None), now, config).callback_after_s == 0
    data["queue_callback"] = {"offer_after_s": 60}  # not before the overflow at 60 s
    assert decide(CallContext("13987112345"), now, parse_config(data)).callback_after_s == 0


def test_an_unanswered_call_back_is_retried_a_bounded_number_of_times():
    from datetime import timedelta

    from callflow.callback import next_attempt

    now = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    s = parse_callback({"offer_after_s": 30})
    assert (s.retries, s.retry_interval_s) == (2, 300)  # the defaults: 2 retries, 5 minutes apart
    assert next_attempt(s, 1, "NOANSWER", now) == now + timedelta(minutes=5)
    assert next_attempt(s, 2, "BUSY", now) == now + timedelta(minutes=5)
    assert next_attempt(s, 3, "NOANSWER", now) is None  # 1 call + 2 retries: given up
    assert next_attempt(s, 1, "CANCEL", now) is None  # the agent hung up: another try would not help
    one = parse_callback({"offer_after_s": 30, "retries": 1, "retry_interval_s": 60})
    assert next_attempt(one, 1, "CHANUNAVAIL", now) == now + timedelta(seconds=60)
    assert next_attempt(one, 2, "NOANSWER", now) is None
    assert next_attempt(parse_callback({"offer_after_s": 30, "retries": 0}), 1, "NOANSWER", now) is None
    for bad in ({"retries": 6}, {"retries": -1}, {"retry_interval_s": 1}, {"retry_interval_s": "5m"}):
        with pytest.raises(ValueError, match="queue_callback.retr"):
            parse_callback(bad)
