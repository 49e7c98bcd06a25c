"""Two `hotline agi` processes on one port: killing one under real SIP load leaves the other routing.

The rig of tests/system/sipp_rig.py with HOTLINE_AGI_PROCESSES=2 (the default of `hotline run
--workers N`; the production units run hotline-agi@1 and @2): both listen on agi_port with
SO_REUSEPORT. SIPp places 100 citizens' calls at 5/s; once the first are routed one of the two
processes is killed with SIGKILL, and the runner starts another (which takes seconds on a loaded
machine — with one process, those seconds are calls falling back). What a caller sees: every call
answered, none stranded in Asterisk, and the calls placed after the kill routed by the survivor to
their platform's queue (with the FastAGI time), not sent to the fallback queue. Only a call whose
routing was in flight in the killed process at that instant may fall back."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.cluster import AGI_NICE
from tests.system.cluster import Cluster
from tests.system.sipp_rig import (
    Rig,
    active_channels,
    call_rows,
    routed_count,
    sipp_result,
    sipp_rig,
    start_sipp,
)
from tests.waiting import wait_until

pytestmark = [
    pytest.mark.system,
    pytest.mark.needs("asterisk"),
    pytest.mark.parametrize("db_url", ["postgresql"], indirect=True),
]

RATE = 5  # calls per second, as the one-process fault test
IN_FLIGHT_AT_KILL = 2  # routings a SIGKILL can cut (each takes milliseconds; at 5/s rarely one)


@pytest.fixture
def rig(tmp_path: Path, db_url: str) -> Iterator[Rig]:
    with sipp_rig(tmp_path, db_url, {"HOTLINE_AGI_PROCESSES": "2"}) as r:
        yield r


async def test_killing_one_of_two_fastagi_processes_under_sip_load(rig: Rig, tmp_path: Path) -> None:
    c, sb = rig.cluster, rig.sandbox
    await wait_until(lambda: c.leaders(), 60, "an AMI leader for the sandbox", describe=lambda: c.text()[-2000:])
    pids = [int(p) for p in re.findall(r"agi pid (\d+)", c.text())]
    assert len(pids) == 2 and c.text().count("FastAGI process ready") == 2, c.text()[-2000:]
    # the runner gives them the production unit's priority where it may (root here: CI runs as root)
    expected = AGI_NICE if os.geteuid() == 0 else os.getpriority(os.PRIO_PROCESS, 0)
    assert [os.getpriority(os.PRIO_PROCESS, p) for p in pids] == [expected, expected]

    callers = [f"1398712{i:04d}" for i in range(100)]  # 20 s at 5/s; Kunming mobiles, distinct per call
    work = tmp_path / "sipp"
    sipp = start_sipp(rig, work, callers, RATE)
    replaced_at: list[datetime] = []

    async def watch_replacement() -> None:
        await wait_until(lambda: c.text().count("FastAGI process ready") >= 3, 180, "the replacement FastAGI process")
        replaced_at.append(datetime.now(UTC))

    try:
        await wait_until(lambda: _routed(c, callers, 5), 60, "the FastAGI processes to route the first calls")
        os.kill(pids[0], signal.SIGKILL)
        killed_at, killed = datetime.now(UTC), time.monotonic()
        watcher = asyncio.create_task(watch_replacement())
        await asyncio.to_thread(sipp.wait, 240)
        await watcher
    finally:
        if sipp.poll() is None:
            sipp.send_signal(signal.SIGTERM)
            sipp.wait(30)
    print(f"FastAGI process {pids[0]} killed; its replacement ready {(replaced_at[0] - killed_at).total_seconds():.1f} s "
          f"later (load average {os.getloadavg()[0]:.1f}); process {pids[1]} kept serving")  # fmt: skip

    # none stranded, every call answered
    await wait_until(lambda: active_channels(sb) == 0, 60, "Asterisk to hold no channel",
                     describe=lambda: sb.cli("core show channels"))  # fmt: skip
    result = sipp_result(work)
    assert result == {"ok": len(callers), "failed": 0}, (result, (work / "errors.log").read_text()[-2000:])

    missing: list[object] = []

    async def reconciled() -> dict[str, list[object]] | None:
        rows = await call_rows(c, callers)
        missing[:] = [n for n in callers if len(rows.get(n, [])) != 1 or rows[n][0]["ended_at"] is None]
        return None if missing else rows  # type: ignore[return-value]

    rows = await wait_until(reconciled, 90, "a closed call row for every SIPp call", describe=lambda: missing[:5])
    assert rows is not None
    row = {n: rows[n][0] for n in callers}
    fell_back = [n for n in callers if row[n]["route"] == "fallback"]
    # placed after the kill (a second's margin for a routing in flight): all routed by the survivor
    after = [n for n in callers if row[n]["arrived_at"] > killed_at + timedelta(seconds=1)]
    before_replacement = [n for n in after if row[n]["arrived_at"] < replaced_at[0]]
    print(
        f"{len(callers)} calls at {RATE}/s, one of two FastAGI processes killed {time.monotonic() - killed:.0f} s "
        f"ago: {len(callers) - len(fell_back)} routed, {len(fell_back)} fell back; {len(after)} placed after "
        f"the kill, {len(before_replacement)} of them before its replacement was ready"
    )
    assert len(after) >= 20, "the kill came too late in the run to show anything"
    for n in after:
        r = row[n]
        assert (r["route"], r["platform"]) == ("queue", "kunming") and r["agi_ms"] is not None, dict(r)
    # the FastAGI processes write no call row: the AMI leader wrote each routed call's whole decision
    # from the dialplan's HotlineRoute event (the reason as the decision worded it, commas included)
    for n in callers:
        r = row[n]
        if r["route"] == "queue":
            assert (r["prefecture"], r["caller_kind"], r["caller_e164"]) == ("kunming", "mobile", "+86" + n), dict(r)
            assert r["reason"].startswith("kunming mobile, ") and r["routed_at"] is not None, dict(r)
    assert len(fell_back) <= IN_FLIGHT_AT_KILL, [dict(row[n]) for n in fell_back]


async def _routed(c: Cluster, callers: list[str], n: int) -> bool:
    return await routed_count(c, callers) >= n
