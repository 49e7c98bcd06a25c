"""The shipped Yunnan YAML and load_config validation."""

from __future__ import annotations

import copy
from zoneinfo import ZoneInfo

import pytest
import yaml

from callflow import HotlineConfig, default_config_path, load_config
from callflow.config import ConfigError

PREFECTURES = {
    "kunming": "昆明", "qujing": "曲靖", "yuxi": "玉溪", "baoshan": "保山", "zhaotong": "昭通",
    "lijiang": "丽江", "puer": "普洱", "lincang": "临沧", "chuxiong": "楚雄", "honghe": "红河",
    "wenshan": "文山", "xishuangbanna": "西双版纳", "dali": "大理", "dehong": "德宏",
    "nujiang": "怒江", "diqing": "迪庆",
}  # fmt: skip


@pytest.fixture(scope="module")
def config() -> HotlineConfig:
    return load_config()


@pytest.fixture
def raw():
    return yaml.safe_load(default_config_path().read_text(encoding="utf-8"))


def write(tmp_path, data):
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_shipped_yunnan_config(config):
    assert (config.province, config.name, config.timezone) == ("yunnan", "云南省", "Asia/Shanghai")
    assert config.zone == ZoneInfo("Asia/Shanghai")
    assert config.default_queue == "q-province" and config.overflow_queue == "q-province"
    assert config.overflow_after_s == 60 and config.greeting == "hotline-greeting"
    assert config.province_platform.code == "province" and config.province_platform.queues == ("q-province",)
    assert {p.code: p.short_name for p in config.prefectures} == PREFECTURES
    for p in config.prefectures:
        assert p.kind == "prefecture"
        assert p.name.endswith("12345热线") and p.name.startswith(p.short_name)
        assert p.queues == (f"q-{p.code}",) and p.trunks == (f"trunk-{p.code}",)
        assert p.mailbox == f"vm-{p.code}"
        assert p.geo_names and all(g.startswith("云南") for g in p.geo_names)
    always = {p.code for p in config.platforms if p.hours.mode == "7x24"}
    assert always == {"province", "kunming"}
    assert config.platform("dali").hours.windows[0][0].strftime("%H:%M") == "09:00"


def test_helpers(config):
    assert config.platform("dali").short_name == "大理"
    with pytest.raises(KeyError):
        config.platform("atlantis")
    assert config.platform_for_trunk("trunk-dali").code == "dali"
    assert config.platform_for_trunk("trunk-nowhere") is None
    assert config.platform_for_trunk(None) is None
    queues = config.all_queues()
    assert len(queues) == 17 == len(set(queues)) and "q-province" in queues


def test_load_config_explicit_path(tmp_path, raw):
    assert load_config(write(tmp_path, raw)).platform("kunming").queues == ("q-kunming",)


def platform(raw, code):
    return next(p for p in raw["platforms"] if p["code"] == code)


def _bad_time(raw):
    platform(raw, "dali")["hours"]["windows"][0][0] = "25:00"


def _unquoted_time(raw):
    platform(raw, "dali")["hours"]["windows"][1][0] = 780  # what YAML makes of 13:00


def _reversed_window(raw):
    platform(raw, "dali")["hours"]["windows"] = [["12:00", "09:00"]]


def _overlap(raw):
    platform(raw, "dali")["hours"]["windows"] = [["09:00", "12:00"], ["11:00", "13:00"]]


def _bad_mode(raw):
    platform(raw, "dali")["hours"] = {"mode": "5x8"}


def _dup_queue(raw):
    platform(raw, "dali")["queues"] = ["q-kunming"]


def _dup_trunk(raw):
    platform(raw, "dali")["trunks"] = ["trunk-dali", "trunk-kunming"]


def _unknown_overflow(raw):
    raw["overflow"]["queue"] = "q-atlantis"


def _unknown_default(raw):
    raw["default_queue"] = "q-atlantis"


def _two_provinces(raw):
    platform(raw, "dali")["kind"] = "province"


def _dup_code(raw):
    platform(raw, "dali")["code"] = "kunming"


def _bad_tz(raw):
    raw["timezone"] = "Asia/Kunming_City"


def _no_queues(raw):
    platform(raw, "dali")["queues"] = []


def _bad_after(raw):
    raw["overflow"]["after_s"] = "sixty"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (_bad_time, "25:00"),
        (_unquoted_time, "quoted"),
        (_reversed_window, "end must be after start"),
        (_overlap, "overlap"),
        (_bad_mode, "mode"),
        (_dup_queue, "duplicate queue 'q-kunming'"),
        (_dup_trunk, "duplicate trunk 'trunk-kunming'"),
        (_unknown_overflow, "overflow.queue 'q-atlantis'"),
        (_unknown_default, "default_queue 'q-atlantis'"),
        (_two_provinces, "exactly one"),
        (_dup_code, "duplicate platform code"),
        (_bad_tz, "timezone"),
        (_no_queues, "queues"),
        (_bad_after, "after_s"),
    ],
)
def test_config_errors_are_clear(tmp_path, raw, mutate, message):
    data = copy.deepcopy(raw)
    mutate(data)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(write(tmp_path, data))
    assert "cfg.yaml" in str(info.value)


def test_unreadable_or_broken_yaml(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")
    (tmp_path / "broken.yaml").write_text("platforms: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "broken.yaml")


def test_bad_holiday_file_fails_config_load(tmp_path):
    (tmp_path / "2040.yaml").write_text("year: 2040\nholidays: [2041-01-01]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="2040.yaml"):
        load_config(holiday_dir=tmp_path)


def test_case_prefixes_come_from_the_config():
    from callflow import load_config

    cfg = load_config()
    assert cfg.case_prefix("province") == "YN" and cfg.case_prefix("kunming") == "KM"
    assert cfg.case_prefix("nowhere") == "NOWHERE"
    prefixes = [p.case_prefix for p in cfg.platforms]
    assert None not in prefixes and len(set(prefixes)) == len(prefixes)


def test_the_shipped_config_enforces_a_wrapup_and_a_platform_may_change_it(config, raw, tmp_path):
    """话后处理: the office default (15 s, docs/operations.md) reaches every queue's wrapuptime; a
    platform's own value overrides it for its queues only."""
    from asterisk_conf.render import queues_conf

    assert config.wrapup_s == 15
    every = [q for p in config.platforms for q in p.queues]
    assert {config.wrapup_for_queue(q) for q in every} == {15}
    queues = queues_conf(config)
    sections = queues.count("\n[")  # every queue and skill queue ([general] comes first)
    assert queues.count("wrapuptime = 15") == sections >= len(every), queues
    dali = next(p for p in raw["platforms"] if p["code"] == "dali")
    dali["wrapup_s"] = 40
    mine = load_config(write(tmp_path, raw))
    assert mine.wrapup_for_queue("q-dali") == 40 and mine.wrapup_for_queue("q-kunming") == 15
    assert "wrapuptime = 40" in queues_conf(mine).split("[q-dali]")[1].split("\n[")[0]


def test_the_second_province_enforces_the_same_wrapup():
    """The second shipped province (ningxia.yaml) renders the office's 15-s 话后处理 for every queue too."""
    from asterisk_conf.render import queues_conf
    from callflow.config import default_config_path

    ningxia = load_config(default_config_path().with_name("ningxia.yaml"))
    queues = queues_conf(ningxia)
    assert queues.count("wrapuptime = 15") == queues.count("\n[") > 0, queues
