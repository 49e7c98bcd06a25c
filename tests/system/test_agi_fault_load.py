"""Kill the FastAGI process under real SIP load (issue 15's faults).

The rig of tests/system/sipp_rig.py with ONE `hotline agi` process (HOTLINE_AGI_PROCESSES=1): SIPp
places citizens' calls at a moderate rate; each caller waits 8 s (the greeting, then the queue) and
hangs up. Mid-run the `hotline agi` process is killed with SIGKILL. Then: every call was answered
(SIPp: no failed call), those that met the dead FastAGI fell back to the default queue, no channel is
left in Asterisk, and every SIPp call has a call row with an end and a route (queue or fallback). The
runner restarts the FastAGI process; a second batch is routed by it again."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

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

RATE = 5  # calls per second: moderate, on a shared two-core machine


@pytest.fixture
def rig(tmp_path: Path, db_url: str) -> Iterator[Rig]:
    with sipp_rig(tmp_path, db_url, {"HOTLINE_AGI_PROCESSES": "1"}) as r:
        yield r


async def test_killing_the_fastagi_process_under_sip_load(rig: Rig, tmp_path: Path) -> None:
    c, sb = rig.cluster, rig.sandbox
    await wait_until(lambda: c.leaders(), 60, "an AMI leader for the sandbox", describe=lambda: c.text()[-2000:])
    callers = [f"1398711{i:04d}" for i in range(100)]  # 20 s at 5/s; Kunming mobiles, distinct per call
    work = tmp_path / "sipp-1"
    sipp = start_sipp(rig, work, callers, RATE)
    try:
        # the process routes the first calls, then dies under load
        await wait_until(lambda: _routed(c, callers), 60, "the FastAGI process to route the first calls")
        agi_pid = int(re.findall(r"agi pid (\d+)", c.text())[-1])
        os.kill(agi_pid, signal.SIGKILL)
        killed = time.monotonic()
        await wait_until(lambda: "(restarted)" in c.text(), 60, "the runner to start another FastAGI process")
        await wait_until(lambda: c.text().count("FastAGI process ready") >= 2, 60, "the new FastAGI process")
        print(f"FastAGI process {agi_pid} killed; another ready {time.monotonic() - killed:.2f} s later")
        await asyncio.to_thread(sipp.wait, 240)
    finally:
        if sipp.poll() is None:
            sipp.send_signal(signal.SIGTERM)
            sipp.wait(30)
    first = sipp_result(work)

    # routing resumes: a second batch after the restart is routed by the new process
    again = [f"1398711{i:04d}" for i in range(100, 110)]
    work2 = tmp_path / "sipp-2"
    sipp2 = start_sipp(rig, work2, again, RATE)
    try:
        await asyncio.to_thread(sipp2.wait, 120)
    finally:
        if sipp2.poll() is None:
            sipp2.send_signal(signal.SIGTERM)
            sipp2.wait(30)
    second = sipp_result(work2)

    # none stranded: Asterisk holds no channel once the callers hung up
    await wait_until(lambda: active_channels(sb) == 0, 60, "Asterisk to hold no channel",
                     describe=lambda: sb.cli("core show channels"))  # fmt: skip
    # every call answered (a fallback reaches the default queue, which answers too)
    assert first == {"ok": len(callers), "failed": 0}, (first, (work / "errors.log").read_text()[-2000:])
    assert second == {"ok": len(again), "failed": 0}, (second, (work2 / "errors.log").read_text()[-2000:])

    # reconciled: every SIPp call has one row, ended, with the route it took
    everyone = callers + again

    missing: list[Any] = []

    async def reconciled() -> dict[str, list[asyncpg.Record]] | None:
        rows = await call_rows(c, everyone)
        missing[:] = [(n, [dict(r) for r in rows.get(n, [])]) for n in everyone
                      if len(rows.get(n, [])) != 1 or rows[n][0]["ended_at"] is None]  # fmt: skip
        return None if missing else rows

    rows = await wait_until(
        reconciled, 90, "a closed call row for every SIPp call", describe=lambda: (len(missing), missing[:5])
    )
    assert rows is not None
    routes = {n: rows[n][0]["route"] for n in everyone}
    fell_back = [n for n in callers if routes[n] == "fallback"]
    print(
        f"{len(callers)} calls at {RATE}/s with the FastAGI process killed: "
        f"{len(callers) - len(fell_back)} routed, {len(fell_back)} fell back to the default queue"
    )
    assert set(routes.values()) <= {"queue", "fallback"}, routes
    assert fell_back, "no call met the dead FastAGI process (it was killed mid-run)"
    for n in fell_back:
        assert (rows[n][0]["queue"], rows[n][0]["platform"]) == ("q-province", "province"), rows[n][0]
    # the calls before the kill and after the restart were routed: the caller's platform (Kunming; with
    # nobody staffed there, its queue is the provincial pool, 多援一), with the FastAGI time
    assert (routes[callers[0]], rows[callers[0]][0]["platform"]) == ("queue", "kunming"), rows[callers[0]]
    for n in again:
        r = rows[n][0]
        assert (routes[n], r["platform"]) == ("queue", "kunming") and r["agi_ms"] is not None, r


async def _routed(c: Any, callers: list[str]) -> bool:
    return await routed_count(c, callers) >= 5
