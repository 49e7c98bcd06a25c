"""Screen-pop latency: from Asterisk emitting AgentCalled to the ringing agent's desktop socket receiving it,
with many agents logged in and calls arriving at a steady rate. Not a test.

A private sandbox Asterisk, and the real backend started as an operator starts it (``hotline run
--no-asterisk``, its own process, on PostgreSQL by default). N agents are logged in (the real login API)
(the first through the login API, the others' tokens signed with the backend's secret) and each holds its desktop WebSocket (/ws/agent, cookie auth) — the page only renders what that socket
delivers. Each agent has one phone in the Dali queue: a Local-channel member (MemberName = the agent,
busy/free through a Custom device state like a real phone) that rings 1 s before answering. Citizens
call at R calls/s (AMI Originate; each hears the ~4 s greeting, the FastAGI routes it to q-dali). The
reference clock for "Asterisk emitted AgentCalled" is a second, independent AMI connection in this
process timestamping the event as it reads it; the pop is timestamped as this process reads it from the
agent's socket. A pop that reaches another agent's socket than the one rung counts as misdelivered. Each
citizen hangs up as soon as the pop has arrived (the phone is free again).

    .venv/bin/python bench/screenpop_bench.py --agents 200 --rate 20 --calls 1200
    .venv/bin/python bench/screenpop_bench.py --agents 8 --rate 2 --calls 8     # smallest
writes bench/results/screenpop.json and screenpop.txt (--out NAME: NAME.json/.txt)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import websockets  # noqa: E402

from app.settings import AsteriskServer  # noqa: E402
from app.simcall import CallResult, place_call  # noqa: E402
from app.telephony.ami import AmiConnection, AmiError  # noqa: E402
from asterisk_conf.render import RenderParams  # noqa: E402
from asterisk_conf.sandbox import Sandbox  # noqa: E402
from bench.backend import (  # noqa: E402
    add_users,
    backend_env,
    cpu_s,
    database,
    free_port,
    hotline_run,
    loadavg,
    login_all,
    mint_sessions,
    run_delay_s,
    wait_healthy,
)
from callflow import load_config  # noqa: E402
from tests.system.softphone import open_all_day_config  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
PASSWORD = "bench-agent-pass-1"
FIRST_PHONE = 3000  # Local/<3000+k>@hotline-sim-agent/n is agent k's phone


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


class Desk:
    """One agent's desktop socket: records when each screen-pop arrived on it."""

    def __init__(self, username: str, ws: Any, arrived: dict[str, tuple[float, str]], popped: dict[str, asyncio.Event]):
        self.username, self.ws, self.arrived, self.popped = username, ws, arrived, popped

    async def read(self) -> None:
        try:
            async for raw in self.ws:
                msg = json.loads(raw)
                if msg.get("type") == "screenpop":
                    self.arrived.setdefault(msg["uniqueid"], (time.perf_counter(), self.username))
                    self.popped.setdefault(msg["uniqueid"], asyncio.Event()).set()
        except websockets.ConnectionClosed:
            pass


async def run(a: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="screenpop-bench-"))
    ami_port, agi_port, http_port = free_port(), free_port(), free_port()
    sb = Sandbox(
        replace(load_config(), wrapup_s=0),  # explicit: no enforced wrap-up, members take call after call
        RenderParams(
            base_dir=tmp / "ast", ami_port=ami_port, ami_secret="bench", agi_secret="bench-agi-key", agi_port=agi_port,
            sip_port=free_port_udp(), rtp_start=33000, rtp_end=33999,
        ),
    )  # fmt: skip
    sb.start()
    server = AsteriskServer(ami_port=ami_port, ami_secret="bench", agi_secret="bench-agi-key")
    called: dict[str, tuple[float, str]] = {}  # uniqueid -> (when AgentCalled was read, member name)

    def on_event(_s: str, ev: dict[str, str]) -> None:
        if ev.get("Event") == "AgentCalled":
            called.setdefault(ev["Uniqueid"], (time.perf_counter(), ev.get("MemberName", "")))

    ref = AmiConnection(server, on_event=on_event)
    agents = [f"bench.agent{k:03d}" for k in range(a.agents)]
    load_before = loadavg()
    results: list[CallResult] = []
    arrived: dict[str, tuple[float, str]] = {}
    popped: dict[str, asyncio.Event] = {}
    try:
        async with database(a.db, tmp) as db_url:
            env = backend_env(
                tmp / "var", db_url, http_port, agi_port=agi_port, wrapup_s=0,
                platform_config=open_all_day_config(tmp),
                asterisk=json.dumps([server.model_dump(mode="json")]),
            )  # fmt: skip
            base = f"http://127.0.0.1:{http_port}"
            with hotline_run(env, tmp / "backend.log") as proc:
                await wait_healthy(base, proc, tmp / "backend.log")
                await add_users(
                    db_url, [{"username": u, "role": "agent", "platform": "dali"} for u in agents], PASSWORD
                )
                tokens = await login_all(base, agents[:1], PASSWORD)  # the real login works...
                tokens |= await mint_sessions(db_url, tmp / "var", agents[1:])  # ...the rest signed alike
                await ref.start()
                assert await ref.wait_connected(10), "reference AMI connection"
                for k, u in enumerate(agents):
                    await ref.action(
                        {
                            "Action": "QueueAdd", "Queue": "q-dali", "MemberName": u, "Paused": "false",
                            "Interface": f"Local/{FIRST_PHONE + k}@hotline-sim-agent/n",
                            "StateInterface": f"Custom:simagent-{FIRST_PHONE + k}",
                        }
                    )  # fmt: skip
                ws_base = base.replace("http", "ws")
                desks = []
                for u in agents:
                    ws = await websockets.connect(
                        f"{ws_base}/ws/agent", additional_headers={"Cookie": f"hotline_session={tokens[u]}"},
                        max_queue=None, ping_interval=None,
                    )  # fmt: skip
                    await ws.recv()  # the agent's state: the desk is live
                    desks.append(Desk(u, ws, arrived, popped))
                readers = [asyncio.create_task(d.read()) for d in desks]
                await asyncio.sleep(1.0)

                async def one_call(i: int) -> None:
                    res = await place_call(server, f"139872{i:05d}", hangup=False, hold_s=60, conn=ref, timeout=30)
                    results.append(res)
                    if res.queue == "q-dali":
                        ev = popped.setdefault(res.uniqueid, asyncio.Event())
                        try:
                            await asyncio.wait_for(ev.wait(), a.pop_timeout)
                        except TimeoutError:
                            pass
                    if res.channel:
                        try:
                            await ref.action({"Action": "Hangup", "Channel": res.channel}, timeout=5)
                        except (AmiError, TimeoutError):
                            pass

                cpu0 = (cpu_s(proc.pid), cpu_s(sb.pid or 0), run_delay_s(proc.pid), run_delay_s(sb.pid or 0))
                t0 = time.perf_counter()
                tasks = []
                for i in range(a.calls):  # a steady arrival rate, whatever the backend does
                    delay = t0 + i / a.rate - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    tasks.append(asyncio.create_task(one_call(i)))
                offered_s = time.perf_counter() - t0
                await asyncio.gather(*tasks)
                cpu = (
                    cpu_s(proc.pid) - cpu0[0], cpu_s(sb.pid or 0) - cpu0[1],
                    run_delay_s(proc.pid) - cpu0[2], run_delay_s(sb.pid or 0) - cpu0[3],
                )  # fmt: skip
                load_after = loadavg()
                for d in desks:
                    await d.ws.close()
                for r in readers:
                    r.cancel()
                await ref.close()
    finally:
        sb.stop()
    lat, missing, misdelivered, fallback = [], 0, 0, 0
    for r in results:
        if r.queue != "q-dali":
            fallback += 1
            continue
        if r.uniqueid not in arrived or r.uniqueid not in called:
            missing += 1
            continue
        (t_pop, desk), (t_called, member) = arrived[r.uniqueid], called[r.uniqueid]
        if desk != member:
            misdelivered += 1
        lat.append((t_pop - t_called) * 1000)
    if not lat:
        raise SystemExit(f"no screen-pop arrived ({missing} missing, {fallback} not routed to q-dali); see {tmp}")
    return {
        "what": "AgentCalled read by an independent AMI client -> screen-pop read from the rung agent's /ws/agent "
        "socket; backend = `hotline run --no-asterisk` in its own process",
        "db": a.db,
        "agents_logged_in": a.agents,
        "rate_offered_per_s": a.rate,
        "rate_achieved_per_s": round(a.calls / offered_s, 2) if offered_s else None,
        "calls": a.calls,
        "pops": len(lat),
        "missing_pops": missing,
        "misdelivered_pops": misdelivered,
        "not_routed_to_queue": fallback,
        "p50_ms": round(statistics.median(lat), 2),
        "p90_ms": round(pct(lat, 90), 2),
        "p99_ms": round(pct(lat, 99), 2),
        "max_ms": round(max(lat), 2),
        "mean_ms": round(statistics.mean(lat), 2),
        "target_p99_ms": 100,
        # CPU used while the calls ran, per call: what the machine's load does not change
        "backend_cpu_ms_per_call": round(cpu[0] * 1000 / a.calls, 2),
        "asterisk_cpu_ms_per_call": round(cpu[1] * 1000 / a.calls, 2),
        # time runnable but kept off the CPU by other jobs on the machine, per call
        "backend_cpu_wait_ms_per_call": round(cpu[2] * 1000 / a.calls, 2),
        "asterisk_cpu_wait_ms_per_call": round(cpu[3] * 1000 / a.calls, 2),
        "loadavg_before": load_before,
        "loadavg_after": load_after,
        "command": "bench/screenpop_bench.py " + " ".join(sys.argv[1:]),
    }


def free_port_udp() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agents", type=int, default=200, help="agents logged in, each with a desktop socket and a phone")
    ap.add_argument("--rate", type=float, default=20.0, help="calls arriving per second")
    ap.add_argument("--calls", type=int, default=1200)
    ap.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    ap.add_argument("--pop-timeout", type=float, default=15.0, help="a pop later than this counts as missing")
    ap.add_argument("--out", default="screenpop", help="results file name (without extension)")
    a = ap.parse_args()
    out = asyncio.run(run(a))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{a.out}.json").write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    text = (
        f"screen-pop latency, {out['agents_logged_in']} agents logged in, calls at {out['rate_offered_per_s']}/s "
        f"({out['db']}): {out['pops']} pops of {out['calls']} calls; p50 {out['p50_ms']} ms, p90 {out['p90_ms']} ms, "
        f"p99 {out['p99_ms']} ms, max {out['max_ms']} ms (target p99 <= 100 ms); missing {out['missing_pops']}, "
        f"misdelivered {out['misdelivered_pops']}, not routed to the queue {out['not_routed_to_queue']}; "
        f"CPU per call: backend {out['backend_cpu_ms_per_call']} ms, Asterisk {out['asterisk_cpu_ms_per_call']} ms; "
        f"kept waiting for a CPU per call: backend {out['backend_cpu_wait_ms_per_call']} ms, "
        f"Asterisk {out['asterisk_cpu_wait_ms_per_call']} ms; "
        f"load average {out['loadavg_before']} -> {out['loadavg_after']}\n{out['what']}\n{out['command']}\n"
    )
    (RESULTS / f"{a.out}.txt").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
