"""Skills with levels (callflow.skills): penalties, skill queues, the agent's memberships, config."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml

from callflow import CallContext, ConfigError, decide, default_config_path, load_config, parse_config
from callflow import skills as sk


def test_levels_map_to_penalties_best_first_and_no_skill_is_the_fallback():
    assert [sk.penalty(level) for level in (5, 4, 3, 2, 1)] == [0, 1, 2, 3, 4]
    assert max(sk.penalty(level) for level in sk.LEVELS) == sk.SKILLED_MAX_PENALTY
    assert sk.penalty(None) == sk.penalty(0) == sk.penalty(6) == sk.UNSKILLED_PENALTY
    assert sk.UNSKILLED_PENALTY > sk.SKILLED_MAX_PENALTY


def test_skill_queue_names_split_back():
    q = sk.skill_queue("q-kunming", "market")
    assert q == "q-kunming-skill-market"
    assert sk.split_queue(q) == ("q-kunming", "market") and sk.base_queue(q) == "q-kunming"
    assert sk.split_queue("q-kunming") == ("q-kunming", None)


def test_memberships_put_every_agent_in_the_skill_queues_with_their_level():
    got = sk.memberships(["q-kunming"], {"market": 5, "yi": 2}, ("market", "environment"))
    assert got == {
        "q-kunming": 0,
        "q-kunming-skill-market": 0,
        "q-kunming-skill-environment": sk.UNSKILLED_PENALTY,
    }
    assert sk.memberships(["q-dali"], {}, ()) == {"q-dali": 0}


def test_levels_are_checked_against_the_groups_and_stored_compactly():
    settings = sk.parse_skills(
        {
            "groups": [
                {"code": "market", "name": "市场监管"},
                {"code": "yi", "name": "彝语", "kind": "language"},
            ]
        }
    )
    assert sk.parse_levels({"market": 5, "yi": 1}, settings) == {"market": 5, "yi": 1}
    with pytest.raises(sk.SkillConfigError, match="未知技能"):
        sk.parse_levels({"nope": 3}, settings)
    for bad in (0, 6, "5", True, 2.5):
        with pytest.raises(sk.SkillConfigError, match="1-5"):
            sk.parse_levels({"market": bad}, settings)
    assert sk.encode({"yi": 1, "market": 5}) == "market:5,yi:1"
    assert sk.decode("market:5,yi:1") == {"market": 5, "yi": 1}
    assert sk.decode("market:9,,x y:1,yi:2") == {"yi": 2}  # garbage skipped, never raises
    assert sk.decode(None) == {}


def test_a_skill_call_is_decided_into_the_skill_queue_and_12345_is_not():
    config = load_config()
    assert set(config.routed_skills) == {
        "market",
        "environment",
        "labour",
    }  # languages: no hotline names them
    now = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)  # Wednesday 11:00 in Kunming: open
    d = decide(CallContext("13987112345", dnid="12315"), now, config)
    assert (d.queue, d.skill, d.skill_suffix) == ("q-kunming", "market", "-skill-market")
    assert decide(CallContext("13987112345", dnid="12345"), now, config).skill_suffix == ""
    assert config.platform_for_queue("q-kunming-skill-market").code == "kunming"


def _data() -> dict:
    return yaml.safe_load(default_config_path().read_text(encoding="utf-8"))


def test_config_refuses_bad_skills():
    data = _data()
    data["skills"]["groups"] = [g for g in data["skills"]["groups"] if g["code"] != "market"]
    with pytest.raises(ConfigError, match="market"):
        parse_config(data)
    data = _data()
    data["skills"]["fallback_after_s"] = -1
    with pytest.raises(ConfigError, match="fallback_after_s"):
        parse_config(data)
    data = _data()
    data["skills"]["groups"].append({"code": "market", "name": "重复"})
    with pytest.raises(ConfigError, match="duplicate skill"):
        parse_config(data)
    data = _data()
    del data["skills"]
    assert parse_config(data).routed_skills == ()  # no groups: no skill queues, 12315 rings everyone
