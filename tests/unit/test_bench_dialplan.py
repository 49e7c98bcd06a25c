"""The routing benchmarks measure the production routing step: the bench context calls the `incoming`
FastAGI route with the same arguments as hotline-inbound, the dialled number being 12345. (Without the
number the decision saw an unknown dialled number on every call and logged a warning for each: a cost
production does not have.)"""

from __future__ import annotations

import re

from asterisk_conf.dialplan import extensions_conf
from asterisk_conf.render import RenderParams
from callflow import load_config


def _incoming_args(conf: str, context: str) -> list[str]:
    section = conf.split(f"[{context}]", 1)[1].split("\n[", 1)[0]
    m = re.search(r"AGI\(\$\{HOTLINE_AGI\}/incoming,(.*)\)$", section, re.M)
    assert m is not None, context
    return m.group(1).split(",")


def test_bench_agi_step_takes_the_inbound_arguments_with_the_hotline_number(tmp_path):
    conf = extensions_conf(load_config(), RenderParams(base_dir=tmp_path, bench_sip=True))
    inbound = _incoming_args(conf, "hotline-inbound")
    bench = _incoming_args(conf, "hotline-bench-agi")
    did = inbound.index("${HOTLINE_DID}")
    assert bench[did] == "12345"
    assert bench[:did] + bench[did + 1 :] == inbound[:did] + inbound[did + 1 :]
