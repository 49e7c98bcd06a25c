"""Screen-pop latency: from Asterisk emitting AgentCalled to the agent's desktop socket receiving it.

Runs a private sandbox Asterisk and the real backend (uvicorn on 127.0.0.1) in this process. A
WebSocket client on /ws/agent stands in for the agent page (the page only renders what that socket
delivers). The reference clock for "Asterisk emitted AgentCalled" is a second, independent AMI
connection that timestamps the event as it reads it. The agent's phone is a Local-channel queue
member (rings 1 s before answering; 8 such phones, 8 calls in flight); each call is hung up as soon as its pop has arrived.

    .venv/bin/python bench/screenpop_bench.py --calls 300
writes bench/results/screenpop.json and screenpop.txt
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
import websockets  # noqa: E402

from app.settings import AsteriskServer  # noqa: E402
from app.simcall import place_call  # noqa: E402
from app.telephony.ami import AmiConnection  # noqa: E402
from asterisk_conf.render import RenderParams  # noqa: E402
from asterisk_conf.sandbox import Sandbox, free_port  # noqa: E402
from callflow import load_config  # noqa: E402
from tests.browser import live_server  # noqa: E402
from tests.conftest import add_user, make_settings  # noqa: E402
from tests.system.softphone import open_all_day_config  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
PARALLEL = 8  # calls in flight at once (each waits ~4 s for the greeting before it rings)


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


async def run(n: int) -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp(prefix="screenpop-bench-"))
    ami_port, agi_port = free_port(), free_port()
    sb = Sandbox(
        load_config(),
        RenderParams(
            base_dir=tmp / "ast",
            ami_port=ami_port,
            ami_secret="bench",
            agi_port=agi_port,
            sip_port=free_port(kind=socket.SOCK_DGRAM),
            rtp_start=33000,
            rtp_end=33999,
        ),
    )
    sb.start()
    server = AsteriskServer(ami_port=ami_port, ami_secret="bench")
    called: dict[str, float] = {}
    ref = AmiConnection(
        server,
        on_event=lambda _s, ev: (
            called.setdefault(ev["Uniqueid"], time.perf_counter())
            if ev.get("Event") == "AgentCalled"
            else None
        ),
    )
    try:
        settings = make_settings(
            tmp,
            f"sqlite+aiosqlite:///{tmp / 'hotline.db'}",
            ami_enabled=True,
            agi_enabled=True,
            agi_port=agi_port,
            asterisk=[server],
            platform_config=open_all_day_config(tmp),
            wrapup_s=0,
        )
        async with live_server(settings) as (app, base):
            await add_user(app, "bench.agent", "agent", platform="dali", sip_endpoint="agent-bench")
            await ref.start()
            assert await ref.wait_connected(5)
            for k in range(PARALLEL):  # the bench agent's "phones": Local members ringing 1 s
                await ref.action(
                    {
                        "Action": "QueueAdd",
                        "Queue": "q-dali",
                        "MemberName": "bench.agent",
                        "Interface": f"Local/{10 + k}@hotline-sim-agent/n",
                    }
                )
            async with httpx.AsyncClient(base_url=base) as c:
                r = await c.post(
                    "/api/auth/login", json={"username": "bench.agent", "password": "correct-horse-42"}
                )
                token = r.json()["token"]
            lat: list[float] = []
            popped: dict[str, asyncio.Event] = {}
            arrived: dict[str, float] = {}
            async with websockets.connect(
                f"{base.replace('http', 'ws')}/ws/agent?token={token}", max_queue=None
            ) as ws:
                await ws.recv()
                await asyncio.sleep(0.5)

                async def reader() -> None:
                    async for raw in ws:
                        msg = json.loads(raw)
                        if msg.get("type") == "screenpop":
                            arrived.setdefault(msg["uniqueid"], time.perf_counter())
                            popped.setdefault(msg["uniqueid"], asyncio.Event()).set()

                async def worker(w: int) -> None:
                    for i in range(w, n, PARALLEL):
                        res = await place_call(server, f"139872{i:05d}", hangup=False, hold_s=10, conn=ref)
                        ev = popped.setdefault(res.uniqueid, asyncio.Event())
                        await asyncio.wait_for(ev.wait(), 15)
                        lat.append((arrived[res.uniqueid] - called[res.uniqueid]) * 1000)
                        if res.channel:
                            try:
                                await ref.action({"Action": "Hangup", "Channel": res.channel}, timeout=3)
                            except Exception:  # noqa: BLE001
                                pass

                rt = asyncio.create_task(reader())
                await asyncio.gather(*(worker(w) for w in range(PARALLEL)))
                rt.cancel()
            await ref.close()
    finally:
        sb.stop()
    return {
        "what": "AgentCalled read by an independent AMI client -> screen-pop received on /ws/agent "
        "(WebSocket client standing in for the agent page), same process as the backend",
        "calls": len(lat),
        "p50_ms": round(statistics.median(lat), 2),
        "p90_ms": round(pct(lat, 90), 2),
        "p99_ms": round(pct(lat, 99), 2),
        "max_ms": round(max(lat), 2),
        "mean_ms": round(statistics.mean(lat), 2),
        "target_p99_ms": 100,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=300)
    out = asyncio.run(run(ap.parse_args().calls))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "screenpop.json").write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    text = (
        f"screen-pop latency over {out['calls']} calls: p50 {out['p50_ms']} ms, p90 {out['p90_ms']} ms, "
        f"p99 {out['p99_ms']} ms, max {out['max_ms']} ms (target p99 <= 100 ms)\n{out['what']}\n"
    )
    (RESULTS / "screenpop.txt").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
