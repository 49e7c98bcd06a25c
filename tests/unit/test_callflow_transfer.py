"""Transfer targets as data: another platform's queue, a colleague's phone, or a directory number —
never a free number typed by an agent; bad configuration and bad targets get clear errors."""

from __future__ import annotations

import pytest
import yaml

from asterisk_conf.transfer import transfer_contexts
from callflow import ConfigError, default_config_path, load_config
from callflow.config import parse_config
from callflow.transfer import TransferError, plan_transfer


@pytest.fixture(scope="module")
def config():
    return load_config()


def test_queue_targets_by_queue_or_platform(config):
    p = plan_transfer(config, "queue", "province")
    assert (p.kind, p.queue, p.platform, p.dial) == ("queue", "q-province", "province", None)
    assert plan_transfer(config, "queue", "q-dali").platform == "dali"
    with pytest.raises(TransferError, match="没有这个队列"):
        plan_transfer(config, "queue", "q-nowhere")


def test_directory_numbers_only(config):
    p = plan_transfer(config, "external", "110")
    assert (p.kind, p.dial, p.label) == ("external", "Local/110@hotline-outbound", "公安报警 110")
    with pytest.raises(TransferError, match="号码簿"):
        plan_transfer(config, "external", "13800000000")  # a free number is refused


def test_colleague_needs_a_phone(config):
    assert plan_transfer(config, "agent", "wu", agent_endpoint="agent-1002").dial == "PJSIP/agent-1002"
    with pytest.raises(TransferError, match="没有配置话机"):
        plan_transfer(config, "agent", "wu", agent_endpoint=None)
    with pytest.raises(TransferError, match="无效"):
        plan_transfer(config, "agent", "wu", agent_endpoint="x/../y,z")
    with pytest.raises(TransferError, match="未知"):
        plan_transfer(config, "fax", "1")


def test_channel_value_cannot_smuggle_dialplan_arguments(config):
    p = plan_transfer(config, "queue", "q-dali")
    assert p.channel_value("xf-1", 20, "PJSIP/agent-1001", "q-kunming") == "xf-1^queue^q-dali^20^PJSIP/agent-1001^q-kunming"
    with pytest.raises(TransferError):
        p.channel_value("xf-1", 20, "PJSIP/a,b", "q-kunming")


@pytest.mark.parametrize(
    ("transfer", "message"),
    [
        ({"ring_s": 1}, "ring_s"),
        ({"directory": [{"code": "110", "name": "x", "number": 110}]}, "number must be"),
        ({"directory": [{"code": "a", "name": "x", "number": "110"}, {"code": "a", "name": "y", "number": "119"}]},
         "duplicate"),
        ([], "must be a mapping"),
    ],
)
def test_bad_transfer_config_is_refused(transfer, message):
    data = yaml.safe_load(default_config_path().read_text(encoding="utf-8"))
    data["transfer"] = transfer
    with pytest.raises(ConfigError, match=message):
        parse_config(data)


def test_dialplan_sends_an_unanswered_transfer_back():
    text = transfer_contexts("vm-province")
    back = text.index("n(back)")
    assert text.index("Status: failed") < back < text.index("Status: requeued") < text.index("hotline-voicemail")
    assert "U(hotline-xfer-returned^" in text and "exten => 700," in text
