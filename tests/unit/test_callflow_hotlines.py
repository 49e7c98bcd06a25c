"""并号/分线: the dialled number (DID) picks the source hotline, its skill group, the prefilled category
and the one-sentence notice; an unknown or garbled DID routes like 12345."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import yaml

from app.cases.rules import CaseRules
from callflow import CallContext, ConfigError, decide, default_config_path, load_config
from callflow.config import parse_config
from callflow.hotlines import normalise_did
from ivr import prompts

SH = ZoneInfo("Asia/Shanghai")
NOON = datetime(2026, 3, 3, 10, 0, tzinfo=SH)  # a Tuesday: every platform open
KUNMING = "13987112345"


@pytest.fixture(scope="module")
def config():
    return load_config()


@pytest.mark.parametrize(
    ("dnid", "hotline", "skill", "category", "notice"),
    [
        ("12315", "12315", "market", "0501", "notice-merged-12315"),
        ("087112315", "12315", "market", "0501", "notice-merged-12315"),
        ("+8687112315", "12315", "market", "0501", "notice-merged-12315"),
        ("0086-871-12315", "12315", "market", "0501", "notice-merged-12315"),
        ("12369", "12369", "environment", "03", "notice-merged-12369"),
        ("12333", "12333", "labour", "04", None),  # parallel hotline: no merge notice
        ("0871-63120000", "km-housing", None, "01", "notice-merged-line"),
        ("12345", "12345", None, None, None),
    ],
)
def test_dialled_number_picks_the_source_hotline(config, dnid, hotline, skill, category, notice):
    d = decide(CallContext(KUNMING, dnid=dnid), NOON, config)
    assert (d.hotline, d.skill, d.category, d.notice) == (hotline, skill, category, notice)
    # the region still decides who answers (属地接听): the merged number changes nothing there
    assert (d.route, d.platform, d.queue) == ("queue", "kunming", "q-kunming")
    assert d.warnings == ()
    if hotline != "12345":
        assert f"via {hotline}" in d.reason


@pytest.mark.parametrize("dnid", ["99999", "0871-6666666", "", "unknown", "12345'; DROP", "#*", "1" * 40])
def test_unknown_or_garbled_dnid_routes_like_12345(config, dnid):
    d = decide(CallContext(KUNMING, dnid=dnid), NOON, config)
    plain = decide(CallContext(KUNMING), NOON, config)
    assert (d.hotline, d.skill, d.category, d.notice) == ("12345", None, None, None)
    assert (d.route, d.platform, d.queue) == (plain.route, plain.platform, plain.queue)


def test_unknown_dnid_is_warned_about(config):
    d = decide(CallContext(KUNMING, dnid="99999"), NOON, config)
    assert d.hotline == "12345" and any("99999" in w for w in d.warnings)


def test_normalise_did():
    assert normalise_did("+86 871 12315") == "087112315"
    assert normalise_did("008612315") == "12315"
    assert normalise_did("+8613987112345") == "13987112345"  # a mobile keeps no trunk 0
    assert normalise_did("12345#") == ""
    assert normalise_did(None) == ""


def test_shipped_notices_are_prompts_and_categories_exist(config):
    cats = CaseRules().category_names()
    for h in config.hotlines.hotlines:
        if h.notice:
            assert h.notice in prompts.PROMPTS and prompts.path(h.notice).exists(), h
        if h.category:
            assert h.category in cats, h


def _with_hotlines(hotlines):
    data = yaml.safe_load(default_config_path().read_text(encoding="utf-8"))
    data["hotlines"] = hotlines
    return data


@pytest.mark.parametrize(
    ("hotlines", "message"),
    [
        ([{"code": "12315", "name": "x", "dids": ["12315"]}], "exactly one hotline must be the unified"),
        ([{"code": "12345", "name": "a", "dids": ["12345"]}, {"code": "12315", "name": "b", "dids": ["12345"]}],
         "is listed by hotlines"),
        ([{"code": "12345", "name": "a", "dids": [87112315]}], "quoted string"),
        ([{"code": "12345", "name": "a", "dids": ["12345"]}, {"code": "x", "name": "b", "dids": ["1x"]}],
         "is not a phone number"),
        ([{"code": "12345", "name": "a", "dids": ["12345"], "notice": "../../etc/passwd"}], "bad notice"),
        ([{"code": "12345", "name": "a", "dids": ["12345"]}, {"code": "12345", "name": "b", "dids": ["12399"]}],
         "duplicate hotline"),
        ("12315", "must be a list"),
    ],
)
def test_bad_hotlines_are_refused_with_a_clear_error(hotlines, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(_with_hotlines(hotlines))


def test_config_without_hotlines_is_plain_12345():
    data = _with_hotlines(None)
    del data["hotlines"]
    cfg = parse_config(data)
    d = decide(CallContext(KUNMING, dnid="12315"), NOON, cfg)
    assert d.hotline == "12345"


def test_hotline_route_cli_shows_the_decision(tmp_path):
    env = {"HOTLINE_VAR_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "route", "--from", KUNMING, "--dnid", "0871-12315",
         "--at", "2026-03-03T10:00+08:00"],
        capture_output=True, text=True, env=env, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert "kunming / queue q-kunming" in out
    assert "hotline 12315 12315市场监管投诉举报热线" in out and "skill market" in out and "category 0501" in out
