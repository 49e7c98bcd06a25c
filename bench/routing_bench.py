"""Routing benchmark (not a test): call set-up through the real Asterisk, with the FastAGI routing
step and with an equivalent static dialplan Goto.

Starts its own sandbox Asterisk (127.0.0.1, free ports) and the backend as a separate process
(`hotline run --no-asterisk`: HTTP + FastAGI + AMI consumer, SQLite), both stopped by their PIDs.
Set-up time = from sending the Originate of a Local channel to receiving the dialplan's
UserEvent(HotlineBench) for that call (after routing, before answer). Open-loop load at fixed rates.

    .venv/bin/python bench/routing_bench.py [--calls 600] [--rates 100,200,250,300,350] [--repeats 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.settings import AsteriskServer  # noqa: E402
from app.telephony.ami import AmiConnection, AmiError  # noqa: E402
from asterisk_conf.sandbox import Sandbox, free_port  # noqa: E402
from callflow import load_config  # noqa: E402
from callflow.config import write_always_open  # noqa: E402

CALLERS = ["13987112345", "13987212345", "13988112345", "087161234567", "13810012345", ""]
RESULTS = REPO / "bench" / "results"


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(p / 100 * (len(s) - 1))))
    return round(s[k], 2)


class Driver:
    def __init__(self, conn: AmiConnection) -> None:
        self.conn = conn
        self.pending: dict[str, tuple[float, asyncio.Future[tuple[float, str]]]] = {}
        conn.add_listener(self.on_event)

    def on_event(self, _server: str, ev: dict[str, str]) -> None:
        if ev.get("Event") == "UserEvent" and ev.get("UserEvent") == "HotlineBench":
            item = self.pending.get(ev.get("Linkedid", ""))
            if item and not item[1].done():
                item[1].set_result((time.perf_counter() - item[0], ev.get("Route", "")))

    async def one(self, context: str, i: int) -> float | None:
        cid = f"b-{uuid.uuid4().hex[:16]}"
        fut: asyncio.Future[tuple[float, str]] = asyncio.get_running_loop().create_future()
        caller = CALLERS[i % len(CALLERS)]
        self.pending[cid] = (time.perf_counter(), fut)
        try:
            await self.conn.action(
                {
                    "Action": "Originate",
                    "Channel": f"Local/12345@{context}/n",
                    "Context": "hotline-bench-sink",
                    "Exten": "s",
                    "Priority": "1",
                    "CallerID": f'"" <{caller}>' if caller else "",
                    "ChannelId": cid,
                    "OtherChannelId": f"{cid}-2",
                    "Timeout": "10000",
                },
                timeout=10,
            )
            dt, route = await asyncio.wait_for(fut, 10)
            return dt * 1000 if route not in ("fail", "") else None
        except (AmiError, TimeoutError):
            return None
        finally:
            self.pending.pop(cid, None)

    async def run(self, context: str, rate: float, calls: int) -> dict[str, object]:
        tasks = []
        t0 = time.perf_counter()
        for i in range(calls):
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self.one(context, i)))
        res = await asyncio.gather(*tasks)
        ok = [r for r in res if r is not None]
        await asyncio.sleep(2.5)  # let the 1 s holds drain before the next run
        return {
            "context": context,
            "rate": rate,
            "calls": calls,
            "failures": calls - len(ok),
            "p50_ms": pct(ok, 50),
            "p90_ms": pct(ok, 90),
            "p99_ms": pct(ok, 99),
            "mean_ms": round(statistics.fmean(ok), 2) if ok else None,
        }


def start_backend(
    tmp: Path, server: AsteriskServer, agi_port: int, cfg_path: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "HOTLINE_VAR_DIR": str(tmp / "var"),
        "HOTLINE_AGI_PORT": str(agi_port),
        "HOTLINE_HTTP_PORT": str(free_port()),
        "HOTLINE_ASTERISK": json.dumps([server.model_dump(mode="json")]),
        "HOTLINE_PLATFORM_CONFIG": str(cfg_path),
        "HOTLINE_ADMIN_PASSWORD": "bench-admin-pw",
        **({"HOTLINE_AMI_ENABLED": "false"} if os.environ.get("BENCH_NO_AMI") else {}),
    }
    log = open(tmp / "backend.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "run", "--no-asterisk"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    for _ in range(200):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", agi_port)) == 0:
                return proc
        if proc.poll() is not None:
            raise RuntimeError(f"backend exited; see {tmp / 'backend.log'}")
        time.sleep(0.05)
    raise RuntimeError("backend did not open its FastAGI port")


async def main_async(args: argparse.Namespace) -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp(prefix="routing-bench-"))
    sb = Sandbox.on_loopback(replace(load_config(), wrapup_s=0), tmp / "asterisk")
    agi_port = sb.params.agi_port
    sb.start()
    server = AsteriskServer(ami_port=sb.params.ami_port, ami_secret=sb.params.ami_secret, agi_secret=sb.params.agi_secret)
    backend = start_backend(tmp, server, agi_port, write_always_open(tmp / "platforms.yaml", wrapup_s=0))
    conn = AmiConnection(server, on_event=lambda s, e: None)
    out: dict[str, object] = {
        "machine": f"{os.cpu_count()} cores",
        "asterisk": sb.cli("core show version").strip(),
    }
    try:
        await conn.start()
        assert await conn.wait_connected(5)
        d = Driver(conn)
        await d.run("hotline-bench-agi", 20, 40)  # warm-up
        latency = []
        for _ in range(args.repeats):  # interleaved: the machine's state affects both alike
            for ctx in ("hotline-bench-static", "hotline-bench-agi"):
                latency.append(await d.run(ctx, args.latency_rate, args.calls))
        by = {
            c: [r for r in latency if r["context"] == c]
            for c in ("hotline-bench-static", "hotline-bench-agi")
        }
        summary = {
            c: {
                "p50_ms": statistics.median([r["p50_ms"] for r in rs]),  # type: ignore[misc]
                "p99_ms": statistics.median([r["p99_ms"] for r in rs]),  # type: ignore[misc]
                "failures": sum(r["failures"] for r in rs),
            }
            for c, rs in by.items()
        }  # type: ignore[misc]
        s, a = summary["hotline-bench-static"], summary["hotline-bench-agi"]
        out["latency"] = {
            "rate_per_s": args.latency_rate,
            "calls_per_run": args.calls,
            "runs": latency,
            "static": s,
            "agi": a,
            "p50_ratio": round(a["p50_ms"] / s["p50_ms"], 2) if s["p50_ms"] else None,
            "p99_added_ms": round(a["p99_ms"] - s["p99_ms"], 2),
        }
        sweep = []
        best = 0.0
        for rate in args.rates:
            runs = [
                await d.run("hotline-bench-agi", rate, int(rate * args.seconds)) for _ in range(args.repeats)
            ]
            held = all(r["failures"] == 0 and r["p99_ms"] < 100 for r in runs)
            sweep.append({"rate": rate, "held_every_repeat": held, "runs": runs})
            print(
                f"  {rate:>5.0f}/s: {'held' if held else 'FAILED'} "
                f"{[(r['failures'], r['p99_ms']) for r in runs]}",
                flush=True,
            )
            if held:
                best = rate
            else:
                break
        out["sweep"] = sweep
        out["max_rate_zero_failures_per_s"] = best
    finally:
        await conn.close()
        backend.send_signal(signal.SIGTERM)
        try:
            backend.wait(15)
        except subprocess.TimeoutExpired:
            backend.kill()
            backend.wait()
        sb.stop()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=500, help="calls per latency run")
    ap.add_argument("--latency-rate", type=float, default=50.0)
    ap.add_argument("--rates", default="100,200,250,300,350")
    ap.add_argument("--seconds", type=float, default=4.0, help="duration of each sweep run")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    args.rates = [float(r) for r in args.rates.split(",")]
    out = asyncio.run(main_async(args))
    lat = out["latency"]
    assert isinstance(lat, dict)
    lines = [
        "# Routing benchmark (call set-up through the real Asterisk)",
        "",
        f"Command: `.venv/bin/python bench/routing_bench.py` — {out['machine']}, {out['asterisk']}",
        "",
        f"Latency at {lat['rate_per_s']:.0f} calls/s, {lat['calls_per_run']} calls per run, "
        f"median of {len(lat['runs']) // 2} interleaved runs:",
        "",
        "| variant | p50 ms | p99 ms | failures |",
        "|---|---|---|---|",
        f"| static dialplan Goto | {lat['static']['p50_ms']} | {lat['static']['p99_ms']} | {lat['static']['failures']} |",
        f"| FastAGI routing | {lat['agi']['p50_ms']} | {lat['agi']['p99_ms']} | {lat['agi']['failures']} |",
        "",
        f"p50 ratio AGI/static: {lat['p50_ratio']}; AGI adds {lat['p99_added_ms']} ms at p99 (target ≤ 5 ms).",
        "",
        f"Highest rate held with zero failures (and p99 < 100 ms) in every repeat: "
        f"**{out['max_rate_zero_failures_per_s']:.0f} call set-ups/s** (target ≥ 200).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "routing.json").write_text(json.dumps(out, indent=2, ensure_ascii=False), encoding="utf-8")
    (RESULTS / "routing.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
