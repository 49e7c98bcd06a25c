"""Real SIP load against the FastAGI processes: a sandbox Asterisk of the test's own (PJSIP on
127.0.0.1 accepting SIPp, as bench/sip_load_bench.py drives it) and `hotline run --workers 2
--no-asterisk` on PostgreSQL connected to it; SIPp (Debian sip-tester) places citizens' calls into
the whole inbound path (service 3XXXX: hotline-inbound, the FastAGI routing or its fallback, the
queue); each caller waits 8 s and hangs up. Shared by the FastAGI fault tests."""

from __future__ import annotations

import csv
import json
import re
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
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

SCENARIO = REPO / "bench" / "sipp" / "invite_caller_hangs_up.xml"


@dataclass
class Rig:
    sandbox: Sandbox
    cluster: Cluster


@contextmanager
def sipp_rig(tmp_path: Path, db_url: str, env: dict[str, str] | None = None) -> Iterator[Rig]:
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
        full = {
            "HOTLINE_ASTERISK": json.dumps([server]),
            "HOTLINE_AGI_PORT": str(p.agi_port),
            "HOTLINE_PLATFORM_CONFIG": str(config),
            **(env or {}),
        }
        with hotline_cluster(tmp_path, db_url, env=full, no_asterisk=True) as c:
            yield Rig(sb, c)
    finally:
        sb.stop()


def start_sipp(rig: Rig, work: Path, callers: list[str], rate: float) -> subprocess.Popen[Any]:
    """SIPp placing one call per caller (in order) at ``rate`` calls/s; runs in the background."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "callers.csv").write_text("SEQUENTIAL\n" + "".join(f"{n};\n" for n in callers))
    cmd = [
        "sipp", f"127.0.0.1:{rig.sandbox.params.sip_port}", "-sf", str(SCENARIO), "-inf", str(work / "callers.csv"),
        "-s", "30001", "-i", "127.0.0.1", "-p", str(free_port(socket.SOCK_DGRAM)),
        "-mp", str(free_port(socket.SOCK_DGRAM)), "-r", f"{rate:g}",
        "-m", str(len(callers)), "-l", "200", "-recv_timeout", "20000", "-timeout", "180s",
        "-trace_stat", "-stf", "stat.csv", "-fd", "1", "-nostdin", "-trace_err", "-error_file", "errors.log",
    ]  # fmt: skip
    return subprocess.Popen(cmd, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def sipp_result(work: Path) -> dict[str, int]:
    rows = list(csv.DictReader((work / "stat.csv").read_text().splitlines(), delimiter=";"))
    last = rows[-1] if rows else {}
    return {"ok": int(last.get("SuccessfulCall(C)", 0) or 0), "failed": int(last.get("FailedCall(C)", 0) or 0)}


async def call_rows(c: Cluster, callers: list[str]) -> dict[str, list[asyncpg.Record]]:
    """The call rows by caller (as Asterisk gave the number), read from the backend's database."""
    conn = await asyncpg.connect(dsn(c.db_url))
    try:
        rows = await conn.fetch(
            "SELECT uniqueid, caller, route, queue, platform, outcome, agi_ms, arrived_at, ended_at, prefecture, "
            "caller_kind, caller_e164, reason, routed_at FROM calls "
            "WHERE direction = 'in' AND caller = ANY($1::text[]) ORDER BY arrived_at",
            callers,
        )
    finally:
        await conn.close()
    out: dict[str, list[asyncpg.Record]] = {}
    for r in rows:
        out.setdefault(r["caller"], []).append(r)
    return out


async def routed_count(c: Cluster, callers: list[str]) -> int:
    rows = await call_rows(c, callers)
    return sum(r["route"] == "queue" for rs in rows.values() for r in rs)


def active_channels(sb: Sandbox) -> int:
    m = re.search(r"(\d+) active channels?", sb.cli("core show channels count"))
    assert m, "core show channels count gave no count"
    return int(m.group(1))
