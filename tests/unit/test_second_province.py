"""A second province is only a YAML file: with callflow/configs/ningxia.yaml (the regional platform
"ningxia" and two cities) routing, queues, the rendered dialplan, mailboxes and case-number prefixes
follow the file — no code names Yunnan, its platforms or a platform code "province"."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from asterisk_conf.dialplan import extensions_conf
from asterisk_conf.render import RenderParams, queues_conf
from callflow import CallContext, decide, load_config
from callflow.config import default_config_path

NINGXIA = default_config_path().with_name("ningxia.yaml")
SH = ZoneInfo("Asia/Shanghai")
TUESDAY_10 = datetime(2026, 3, 3, 10, 0, tzinfo=SH)
TUESDAY_13 = datetime(2026, 3, 3, 13, 0, tzinfo=SH)  # Shizuishan's lunch break (12:00-14:30)


@pytest.fixture(scope="module")
def nx():
    return load_config(NINGXIA)


@pytest.mark.parametrize(
    ("caller", "platform", "queue", "overflow", "mailbox"),
    [
        ("0951-6012345", "yinchuan", "q-yinchuan", "q-ningxia", "vm-yinchuan"),  # Yinchuan landline
        ("13007961234", "yinchuan", "q-yinchuan", "q-ningxia", "vm-yinchuan"),  # Yinchuan mobile range
        ("0952-2012345", "shizuishan", "q-shizuishan", "q-ningxia", "vm-shizuishan"),
        ("13007901234", "shizuishan", "q-shizuishan", "q-ningxia", "vm-shizuishan"),
        ("0953-2012345", "ningxia", "q-ningxia", None, "vm-ningxia"),  # Wuzhong: no city platform
        ("13987112345", "ningxia", "q-ningxia", None, "vm-ningxia"),  # a Kunming mobile: other province
    ],
)
def test_routing_follows_the_second_province(nx, caller, platform, queue, overflow, mailbox):
    d = decide(CallContext(caller), TUESDAY_10, nx)
    assert (d.route, d.platform, d.queue, d.overflow_queue, d.mailbox) == (
        "queue",
        platform,
        queue,
        overflow,
        mailbox,
    )
    assert d.overflow_after_s == 45


def test_hours_of_the_second_province(nx):
    d = decide(CallContext("0952-2012345"), TUESDAY_13, nx)
    assert (d.route, d.platform, d.mailbox) == ("voicemail", "shizuishan", "vm-shizuishan")
    assert decide(CallContext("0951-6012345"), TUESDAY_13, nx).route == "queue"  # Yinchuan is 7x24


def test_broken_backend_fallback_names_the_regional_platform(nx):
    class Broken:
        def __getattr__(self, name: str):
            raise AttributeError(name)

    d = decide(Broken(), TUESDAY_10, nx)
    assert (d.route, d.queue, d.platform) == ("queue", "q-ningxia", "ningxia")


def test_rendered_asterisk_config_follows_the_second_province(nx, tmp_path: Path):
    queues = queues_conf(nx)
    sections = {line.strip("[]") for line in queues.splitlines() if line.startswith("[")} - {"general"}
    assert sections == {"q-ningxia", "q-yinchuan", "q-shizuishan"}
    dialplan = extensions_conf(nx, RenderParams(base_dir=tmp_path))
    for t in ("trunk-ningxia", "trunk-yinchuan", "trunk-shizuishan"):
        assert f"[trunk-in-{t}]" in dialplan
    assert "HOTLINE_DEFAULT_QUEUE=q-ningxia" in dialplan
    assert "Set(HOTLINE_PLATFORM=ningxia)" in dialplan  # the fallback when the backend is down
    assert "?vm-ningxia:" in dialplan  # the fallback mailbox
    for yunnan in ("province", "kunming", "yunnan"):
        assert yunnan not in dialplan and yunnan not in queues


def test_case_prefixes_and_provincial_platform_come_from_the_file(nx):
    assert nx.province_platform.code == "ningxia"
    assert [nx.case_prefix(p.code) for p in nx.platforms] == ["NX", "YC", "SZS"]
