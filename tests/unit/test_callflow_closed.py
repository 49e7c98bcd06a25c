"""Nights and holidays: what a closed platform does is configuration (when_closed): its mailbox, the
provincial 7×24 pool, or the pool while it is staffed and not saturated, else the mailbox."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import yaml

from callflow import CallContext, decide, default_config_path, load_config
from callflow.config import ConfigError, parse_config

SH = ZoneInfo("Asia/Shanghai")
NIGHT = datetime(2026, 3, 3, 23, 0, tzinfo=SH)  # Tuesday 23:00: Dali closed, the province open 7x24
HOLIDAY = datetime(2026, 10, 1, 10, 0, tzinfo=SH)  # National Day
DALI = "13987212345"


def _config(mode: str | None, per_agent: int | None = None):
    data = yaml.safe_load(default_config_path().read_text(encoding="utf-8"))
    for p in data["platforms"]:
        if p["code"] == "dali":
            if mode is None:
                p.pop("when_closed", None)
            else:
                p["when_closed"] = mode
    if per_agent is not None:
        data["overflow"]["saturated_waiting_per_agent"] = per_agent
    return parse_config(data)


def test_shipped_yunnan_sends_closed_prefectures_to_the_staffed_province():
    cfg = load_config()
    for p in cfg.prefectures:
        if not p.hours.always_open:
            assert p.when_closed == "pool_then_voicemail", p.code
    for now in (NIGHT, HOLIDAY):
        d = decide(CallContext(DALI, queue_agents={"q-province": 3}), now, cfg)
        assert (d.route, d.queue, d.platform, d.mailbox, d.is_open) == ("queue", "q-province", "dali", "vm-dali", False)
        assert "7x24 pool q-province" in d.reason


def test_shipped_yunnan_closed_prefecture_with_empty_pool_goes_to_its_mailbox():
    d = decide(CallContext(DALI, queue_agents={"q-province": 0}), NIGHT, load_config())
    assert (d.route, d.queue, d.mailbox) == ("voicemail", None, "vm-dali")
    assert "no agents" in d.reason


@pytest.mark.parametrize(
    ("staffed", "waiting", "route"),
    [(2, 0, "queue"), (2, 3, "queue"), (2, 4, "voicemail"), (1, 2, "voicemail"), (0, 0, "voicemail")],
)
def test_pool_then_voicemail_when_the_pool_is_saturated(staffed, waiting, route):
    cfg = _config("pool_then_voicemail", per_agent=2)
    ctx = CallContext(DALI, queue_agents={"q-province": staffed}, queue_waiting={"q-province": waiting})
    d = decide(ctx, NIGHT, cfg)
    assert d.route == route, d.reason
    if route == "voicemail" and staffed:
        assert "saturated" in d.reason


@pytest.mark.parametrize("agents", [None, {"q-province": 0}, {"q-province": 5}])
def test_pool_mode_always_queues_at_the_pool(agents):
    d = decide(CallContext(DALI, queue_agents=agents), NIGHT, _config("pool"))
    # nobody there: the dialplan still moves the caller to vm-dali after overflow.after_s
    assert (d.route, d.queue, d.overflow_queue, d.mailbox) == ("queue", "q-province", None, "vm-dali")


@pytest.mark.parametrize("mode", ["voicemail", None])
def test_voicemail_mode_and_default(mode):
    d = decide(CallContext(DALI, queue_agents={"q-province": 5}), NIGHT, _config(mode))
    assert (d.route, d.mailbox) == ("voicemail", "vm-dali")


def test_open_platform_is_unchanged_by_when_closed():
    d = decide(CallContext(DALI), datetime(2026, 3, 3, 10, 0, tzinfo=SH), _config("pool"))
    assert (d.route, d.queue, d.overflow_queue) == ("queue", "q-dali", "q-province")


def test_unknown_agent_state_assumes_the_pool_is_staffed():
    d = decide(CallContext(DALI), NIGHT, load_config())
    assert (d.route, d.queue) == ("queue", "q-province")
    assert "assumed staffed" in d.reason


def test_bad_when_closed_is_refused():
    with pytest.raises(ConfigError, match="when_closed must be one of"):
        _config("province")
    with pytest.raises(ConfigError, match="saturated_waiting_per_agent"):
        _config("pool", per_agent=0)
