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


def test_the_bench_agi_step_is_recorded_as_production_records_a_routed_call(tmp_path):
    """The decision's call row is the AMI leader's to write, from the dialplan's HotlineRoute event:
    the bench's AGI mode sends it after the reply as hotline-queue does, so the backend does all its
    work for a routed call; the minimal responder (the protocol's floor) and the static Goto do not."""
    from asterisk_conf.dialplan import ROUTE_EVENT

    conf = extensions_conf(load_config(), RenderParams(base_dir=tmp_path, bench_sip=True))

    def section(context: str) -> str:
        return conf.split(f"[{context}]", 1)[1].split("\n[", 1)[0]

    queue = section("hotline-queue").splitlines()
    assert queue[1] == f"exten => s,1,{ROUTE_EVENT}"
    agi = section("hotline-bench-agi").splitlines()
    step = next(i for i, line in enumerate(agi) if "AGI(" in line)
    assert f" same => n,{ROUTE_EVENT}" in agi[step:]
    assert agi.index(f" same => n,{ROUTE_EVENT}") < agi.index(" same => n,Answer()")
    assert "HotlineRoute" not in section("hotline-bench-raw") + section("hotline-bench-static")
