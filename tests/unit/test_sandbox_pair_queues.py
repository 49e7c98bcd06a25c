"""The sandbox pair (two Asterisks joined by the IAX2 trunk) is rendered like two real servers: each
queues.conf defines only its platforms' queues (and their skill queues), and a server without the
default queue sends a call whose FastAGI failed to its own first queue, of its own platform."""

from __future__ import annotations

import re

from asterisk_conf.sandbox import trunked_pair
from callflow import load_config
from callflow.skills import base_queue


def test_each_server_of_the_pair_defines_only_its_platforms_queues(tmp_path):
    cfg = load_config()
    pref, prov = trunked_pair(cfg, tmp_path)
    defined = {}
    for name, sb in (("prefecture", pref), ("province", prov)):
        etc = sb.render().parent
        sections = re.findall(r"^\[([^\]]+)\]", (etc / "queues.conf").read_text(), re.M)
        defined[name] = {base_queue(q) for q in sections if q != "general"}
        globals_ = (etc / "extensions.conf").read_text()
        default = re.search(r"^HOTLINE_DEFAULT_QUEUE=(.+)$", globals_, re.M).group(1)  # type: ignore[union-attr]
        assert default in defined[name], (name, default)
        fallback = re.search(r"\[hotline-inbound\].*?Set\(HOTLINE_PLATFORM=(\w+)\)", globals_, re.S)
        assert fallback is not None and cfg.platform_for_queue(default).code == fallback.group(1)
    province = cfg.province_platform
    assert defined["province"] == set(province.queues)
    assert defined["prefecture"] == {q for p in cfg.platforms if p.code != province.code for q in p.queues}
    assert not defined["prefecture"] & defined["province"]
    # every queue is on exactly one server
    assert defined["prefecture"] | defined["province"] == set(cfg.all_queues())
