"""Kill the FastAGI process under real SIP load (issue 15's faults).

A sandbox Asterisk of the test's own (PJSIP on 127.0.0.1 accepting SIPp, as bench/sip_load_bench.py
drives it) and `hotline run --workers 2 --no-asterisk` on PostgreSQL connected to it. SIPp (Debian
sip-tester) places citizens' calls at a moderate rate into the whole inbound path (service 3XXXX:
hotline-inbound, the FastAGI routing or its fallback, the queue); each caller waits 8 s (the greeting, then the queue)
and hangs up. Mid-run the `hotline agi` process is killed with SIGKILL. Then: every call was answered
(SIPp: no failed call), those that met the dead FastAGI fell back to the default queue, no channel is
left in Asterisk, and every SIPp call has a call row with an end and a route (queue or fallback). The
runner restarts the FastAGI process; a second batch is routed by it again."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from app.pg import dsn
from asterisk_conf.sandbox import Sandbox
from callflow import load_config
from tests.conftest import REPO, free_port
from tests.system.cluster import Cluster, hotline_cluster
from tests.system.softphone import open_all_day_config
from tests.waiting import wait_until

pytestmark = [
    pytest.mark.system,
    pytest.mark.needs("asterisk"),
    pytest.mark.parametrize("db_url", ["postgresql"], indirect=True),
]

SCENARIO = REPO / "bench" / "sipp" / "invite_caller_hangs_up.xml"
RATE = 5  # calls per second: moderate, on a shared two-core machine


@dataclass
class Rig:
    sandbox: Sandbox
    cluster: Cluster


@pytest.fixture
def rig(tmp_path: Path, db_url: str) -> Iterator[Rig]:
    if subprocess.run(["which", "sipp"], capture_output=True).returncode != 0:
        pytest.fail("sipp is not installed (Debian sip-tester): scripts/install-system-deps.sh", pytrace=False)
    config = open_all_day_config(tmp_path)
    sb = Sandbox.on_loopback(load_config(config), tmp_path / "ast", rtp_start=32000, rtp_end=32999, bench_sip=True)
    sb.start()
    try:
        p = sb.params
        server = {
            "name": "main", "ami_port": p.ami_port, "ami_secret": p.ami_secret, "agi_secret": p.agi_secret,
            "cdr_csv": str(p.base_dir / "log" / "cdr-csv" / "Master.csv"),
        }  # fmt: skip
        env = {
            "HOTLINE_ASTERISK": json.dumps([server]),
            "HOTLINE_AGI_PORT": str(p.agi_port),
            "HOTLINE_PLATFORM_CONFIG": str(config),
        }
        with hotline_cluster(tmp_path, db_url, env=env, no_asterisk=True) as c:
            yield Rig(sb, c)
    finally:
        sb.stop()


def _free_udp() -> int:
    return free_port(socket.SOCK_DGRAM)


def _sipp(rig: Rig, work: Path, callers: list[str], rate: float) -> subprocess.Popen[Any]:
    """SIPp placing one call per caller (in order) at ``rate`` calls/s; runs in the background."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "callers.csv").write_text("SEQUENTIAL\n" + "".join(f"{n};\n" for n in callers))
    cmd = [
        "sipp", f"127.0.0.1:{rig.sandbox.params.sip_port}", "-sf", str(SCENARIO), "-inf", str(work / "callers.csv"),
        "-s", "30001", "-i", "127.0.0.1", "-p", str(_free_udp()), "-mp", str(_free_udp()), "-r", f"{rate:g}",
        "-m", str(len(callers)), "-l", "200", "-recv_timeout", "20000", "-timeout", "180s",
        "-trace_stat", "-stf", "stat.csv", "-fd", "1", "-nostdin", "-trace_err", "-error_file", "errors.log",
    ]  # fmt: skip
    return subprocess.Popen(cmd, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _sipp_result(work: Path) -> dict[str, int]:
    rows = list(csv.DictReader((work / "stat.csv").read_text().splitlines(), delimiter=";"))
    last = rows[-1] if rows else {}
    return {"ok": int(last.get("SuccessfulCall(C)", 0) or 0), "failed": int(last.get("FailedCall(C)", 0) or 0)}


async def _rows(c: Cluster, callers: list[str]) -> dict[str, list[asyncpg.Record]]:
    """The call rows by caller (as Asterisk gave the number), read from the backend's database."""
    conn = await asyncpg.connect(dsn(c.db_url))
    try:
        rows = await conn.fetch(
            "SELECT uniqueid, caller, route, queue, platform, outcome, agi_ms, arrived_at, ended_at FROM calls "
            "WHERE direction = 'in' AND caller = ANY($1::text[]) ORDER BY arrived_at",
            callers,
        )
    finally:
        await conn.close()
    out: dict[str, list[asyncpg.Record]] = {}
    for r in rows:
        out.setdefault(r["caller"], []).append(r)
    return out


def _active_channels(sb: Sandbox) -> int:
    m = re.search(r"(\d+) active channels?", sb.cli("core show channels count"))
    assert m, "core show channels count gave no count"
    return int(m.group(1))


async def test_killing_the_fastagi_process_under_sip_load(rig: Rig, tmp_path: Path) -> None:
    c, sb = rig.cluster, rig.sandbox
    await wait_until(lambda: c.leaders(), 60, "an AMI leader for the sandbox", describe=lambda: c.text()[-2000:])
    callers = [f"1398711{i:04d}" for i in range(100)]  # 20 s at 5/s; Kunming mobiles, distinct per call
    work = tmp_path / "sipp-1"
    sipp = _sipp(rig, work, callers, RATE)
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
    first = _sipp_result(work)

    # routing resumes: a second batch after the restart is routed by the new process
    again = [f"1398711{i:04d}" for i in range(100, 110)]
    work2 = tmp_path / "sipp-2"
    sipp2 = _sipp(rig, work2, again, RATE)
    try:
        await asyncio.to_thread(sipp2.wait, 120)
    finally:
        if sipp2.poll() is None:
            sipp2.send_signal(signal.SIGTERM)
            sipp2.wait(30)
    second = _sipp_result(work2)

    # none stranded: Asterisk holds no channel once the callers hung up
    await wait_until(lambda: _active_channels(sb) == 0, 60, "Asterisk to hold no channel",
                     describe=lambda: sb.cli("core show channels"))  # fmt: skip
    # every call answered (a fallback reaches the default queue, which answers too)
    assert first == {"ok": len(callers), "failed": 0}, (first, (work / "errors.log").read_text()[-2000:])
    assert second == {"ok": len(again), "failed": 0}, (second, (work2 / "errors.log").read_text()[-2000:])

    # reconciled: every SIPp call has one row, ended, with the route it took
    everyone = callers + again

    missing: list[Any] = []

    async def reconciled() -> dict[str, list[asyncpg.Record]] | None:
        rows = await _rows(c, everyone)
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


async def _routed(c: Cluster, callers: list[str]) -> bool:
    rows = await _rows(c, callers)
    return sum(r["route"] == "queue" for rs in rows.values() for r in rs) >= 5
