"""Call set-up under real SIP load: FastAGI routing against a static dialplan Goto, in the same run.
Not a test.

A private sandbox Asterisk (PJSIP on 127.0.0.1, rendered with ``bench_sip``: SIPp's INVITEs, recognised
by a header, enter ``hotline-bench-sip``) and the backend as an operator starts it (``hotline run
--no-asterisk``, PostgreSQL by default). SIPp (Debian ``sip-tester``) places calls at a fixed rate with
caller ids from a file of distinct Yunnan mobile numbers: to 1XXXX they take the FastAGI routing step
(``hotline-bench-agi``), to 2XXXX a static Goto setting the same variables (``hotline-bench-static``), to
4XXXX the same AGI step answered by the minimal responder ``bench/raw_agi.py`` (fixed variables: what the
protocol itself costs Asterisk and the machine); all then answer, hold 1 s and hang up. Measured per run: SIP failures (SIPp's failed calls), fallbacks
(the dialplan's UserEvent HotlineBench with Route: fail, read on an AMI connection), and the response
time INVITE -> 200 OK (SIPp's rtd per call, whole milliseconds). Each run starts once the backend and Asterisk are
idle again (no run pays for the rows and events the one before left). Rates step up, the modes alternating at each rate; a
mode *holds* a rate when it has zero SIP failures and zero fallbacks. Then both modes run 60 s at the
top rate (the highest the static dialplan held), AGI in between two static runs.

    .venv/bin/python bench/sip_load_bench.py                                  # 50..250/s, 20 s steps, 60 s hold
    .venv/bin/python bench/sip_load_bench.py --rates 5 --step-s 3 --hold-s 3  # smallest
writes bench/results/sip_load.json and sip_load.md
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.settings import AsteriskServer  # noqa: E402
from app.telephony.ami import AmiConnection  # noqa: E402
from asterisk_conf.render import RenderParams  # noqa: E402
from asterisk_conf.sandbox import Sandbox, free_port  # noqa: E402
from bench.backend import (  # noqa: E402
    backend_env,
    cpu_s,
    database,
    hotline_run,
    loadavg,
    run_delay_s,
    stop,
    wait_healthy,
)
from bench.sip_load_report import report, summarise  # noqa: E402
from callflow import load_config  # noqa: E402
from tests.system.softphone import open_all_day_config  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SCENARIO = HERE / "sipp" / "invite_answered.xml"
SERVICE = {"agi": "10001", "static": "20001", "raw": "40001"}
# Yunnan mobile prefixes the geocoder places in several prefectures (Kunming, Dali, Qujing, Lijiang...)
PREFIXES = ("1398711", "1398721", "1398741", "1398751", "1398771", "1388801", "1508711", "1378721")


def pct(xs: list[float], p: float) -> float | None:
    if not xs:
        return None
    s = sorted(xs)
    return round(s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))], 2)


def callers_file(path: Path, n: int) -> Path:
    rnd = random.Random(12345)
    lines = ["RANDOM"] + [f"{rnd.choice(PREFIXES)}{rnd.randrange(10000):04d};" for _ in range(n)]
    path.write_text("\n".join(lines) + "\n")
    return path


class RouteCounter:
    """HotlineBench UserEvents of one mode (agi/static) by route, read on the bench's own AMI connection
    (a late event of the previous run, of the other mode, is not counted)."""

    def __init__(self) -> None:
        self.routes: dict[str, int] = {}
        self.mode = ""

    def feed(self, _server: str, ev: dict[str, str]) -> None:
        if ev.get("Event") == "UserEvent" and ev.get("UserEvent") == "HotlineBench" and ev.get("Mode") == self.mode:
            r = ev.get("Route") or "none"
            self.routes[r] = self.routes.get(r, 0) + 1

    def take(self, mode: str = "") -> dict[str, int]:
        out, self.routes, self.mode = self.routes, {}, mode
        return out


@contextlib.contextmanager
def raw_responder(port: int, platform: Path) -> Iterator[subprocess.Popen[bytes]]:
    """bench/raw_agi.py on `port`, in a process of its own; stopped by its PID."""
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "raw_agi.py"), "--port", str(port), "--config", str(platform)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("bench/raw_agi.py did not start") from None
                time.sleep(0.1)
        yield proc
    finally:
        stop(proc)


def run_sipp(work: Path, sip_port: int, mode: str, rate: float, seconds: float, callers: Path) -> dict[str, Any]:
    """One SIPp run (blocking): `rate` calls/s for `seconds`; failed/successful calls and per-call rtd."""
    run_dir = Path(tempfile.mkdtemp(prefix=f"{mode}-{rate:g}-", dir=work))
    calls = max(1, int(rate * seconds))
    cmd = [
        "sipp", f"127.0.0.1:{sip_port}", "-sf", str(SCENARIO), "-inf", str(callers), "-s", SERVICE[mode],
        "-i", "127.0.0.1", "-p", str(free_port(kind=socket.SOCK_DGRAM)), "-mp", str(free_port(kind=socket.SOCK_DGRAM)), "-r", f"{rate:g}", "-m", str(calls),
        "-l", str(max(50, int(rate * 10))), "-recv_timeout", "10000", "-timeout", f"{int(seconds) + 40}s",
        "-trace_stat", "-stf", "stat.csv", "-fd", "1", "-trace_rtt", "-rtt_freq", "1", "-nostdin",
        "-trace_err", "-error_file", "errors.log",
    ]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=run_dir, capture_output=True, text=True, timeout=seconds + 120)
    wall = time.perf_counter() - t0
    stats = list(csv.DictReader((run_dir / "stat.csv").read_text().splitlines(), delimiter=";"))
    last = stats[-1] if stats else {}
    rtd: list[float] = []
    for f in run_dir.glob("*_rtt.csv"):
        for row in csv.DictReader(f.read_text().splitlines(), delimiter=";"):
            try:
                rtd.append(float(row.get("response_time_ms", "nan")))
            except ValueError:
                pass
    ok = int(last.get("SuccessfulCall(C)", 0) or 0)
    failed = int(last.get("FailedCall(C)", 0) or 0)
    return {
        "mode": mode,
        "rate": rate,
        "seconds": seconds,
        "calls": calls,
        "successful": ok,
        "sip_failures": failed + max(0, calls - ok - failed),  # never finished counts as failed
        "rtd_p50_ms": pct(rtd, 50),
        "rtd_p99_ms": pct(rtd, 99),
        "rtd_max_ms": pct(rtd, 100),
        "rtd_mean_ms": round(statistics.mean(rtd), 2) if rtd else None,
        "measured_calls": len(rtd),
        "sipp_exit": proc.returncode,
        "wall_s": round(wall, 1),
    }


async def settle(pids: dict[str, int], idle_share: float = 0.15, limit_s: float = 30.0) -> float:
    """Waits until the backend and Asterisk are idle (together under ``idle_share`` of a CPU over half a
    second), so that no run pays for the work the previous run left behind (call rows still being
    written, events still being read). Returns the seconds waited."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit_s:
        before = sum(cpu_s(p) for p in pids.values())
        await asyncio.sleep(0.5)
        if sum(cpu_s(p) for p in pids.values()) - before < idle_share * 0.5:
            break
    return round(time.perf_counter() - t0, 1)


async def measure(
    a: argparse.Namespace, work: Path, sip_port: int, counter: RouteCounter, mode: str, rate: float, seconds: float,
    callers: Path, pids: dict[str, int],
) -> dict[str, Any]:  # fmt: skip
    res_settle = await settle(pids)
    counter.take(mode)
    cpu0 = {k: cpu_s(p) for k, p in pids.items()}
    wait0 = {k: run_delay_s(p) for k, p in pids.items()}
    res = await asyncio.to_thread(run_sipp, work, sip_port, mode, rate, seconds, callers)
    await asyncio.sleep(2.0)  # the last calls' events
    routes = counter.take()
    res["routes"] = routes
    res["fallbacks"] = routes.get("fail", 0)
    res["held"] = res["sip_failures"] == 0 and res["fallbacks"] == 0 and res["successful"] == res["calls"]
    res["cpu_ms_per_call"] = {k: round((cpu_s(p) - cpu0[k]) * 1000 / max(1, res["calls"]), 2) for k, p in pids.items()}
    # time runnable but kept off a CPU by other jobs on the machine (per call)
    res["cpu_wait_ms_per_call"] = {
        k: round((run_delay_s(p) - wait0[k]) * 1000 / max(1, res["calls"]), 2) for k, p in pids.items()
    }
    res["loadavg"] = loadavg()
    res["settled_s"] = res_settle
    print(
        f"{mode:6} {rate:6g}/s {seconds:4g}s: ok {res['successful']}/{res['calls']}, SIP failures {res['sip_failures']}, "
        f"fallbacks {res['fallbacks']}, rtd p50 {res['rtd_p50_ms']} p99 {res['rtd_p99_ms']} ms, load {res['loadavg'][0]}",
        flush=True,
    )
    return res


async def run(a: argparse.Namespace) -> dict[str, Any]:
    if shutil.which("sipp") is None:
        raise SystemExit("sipp is not installed (Debian sip-tester; scripts/install-system-deps.sh)")
    tmp = Path(tempfile.mkdtemp(prefix="sip-load-bench-"))
    ami_port, agi_port, http_port, sip_port, raw_port = free_port(), free_port(), free_port(), free_port(kind=socket.SOCK_DGRAM), free_port()
    modes = [m for m in ("static", "raw", "agi") if m in a.modes.split(",")]
    sb = Sandbox(
        replace(load_config(), wrapup_s=0),  # explicit: no enforced wrap-up, members take call after call
        RenderParams(
            base_dir=tmp / "ast", ami_port=ami_port, ami_secret="bench", agi_secret="bench-agi-key",
            agi_port=agi_port, sip_port=sip_port, rtp_start=35000, rtp_end=39999, bench_sip=True,
        ),
    )  # fmt: skip
    sb.start(realtime=a.asterisk_realtime)
    server = AsteriskServer(ami_port=ami_port, ami_secret="bench", agi_secret="bench-agi-key")
    counter = RouteCounter()
    ami = AmiConnection(server, on_event=counter.feed, event_mask="user")  # its UserEvents alone
    callers = callers_file(tmp / "callers.csv", 20000)
    steps: list[dict[str, Any]] = []
    holds: list[dict[str, Any]] = []
    rates = [float(r) for r in a.rates.split(",")]
    load_before = loadavg()
    try:
        async with database(a.db, tmp) as db_url:
            platform = open_all_day_config(tmp)
            env = backend_env(
                tmp / "var", db_url, http_port, agi_port=agi_port, platform_config=platform,
                asterisk=json.dumps([server.model_dump(mode="json")]),
            )  # fmt: skip
            # --workers N: the production process model (N HTTP workers, FastAGI in processes of its own)
            args = ("--workers", str(a.workers)) if a.workers > 1 else ()
            with hotline_run(env, tmp / "backend.log", args) as proc, raw_responder(raw_port, platform) as raw:
                await wait_healthy(f"http://127.0.0.1:{http_port}", proc, tmp / "backend.log")
                await ami.start()
                assert await ami.wait_connected(10), "AMI"
                await ami.action(
                    {"Action": "Setvar", "Variable": "HOTLINE_BENCH_RAW_AGI", "Value": f"agi://127.0.0.1:{raw_port}"},
                    timeout=10,
                )
                pids = {"backend": proc.pid, "asterisk": sb.pid or 0, "raw": raw.pid}
                for mode in modes:  # warm-up
                    if mode != "static":
                        await measure(a, tmp, sip_port, counter, mode, min(rates), 2, callers, pids)
                held = {m: 0.0 for m in modes}
                for rate in rates:
                    for mode in modes:
                        r = await measure(a, tmp, sip_port, counter, mode, rate, a.step_s, callers, pids)
                        steps.append(r)
                        if r["held"]:
                            held[mode] = max(held[mode], rate)
                    if not any(s["held"] for s in steps if s["rate"] == rate):
                        break  # neither held: the machine is past its limit
                top = held.get("static") or max(held.values()) or min(rates)  # (--modes without static)
                for mode in ("static", *[m for m in modes if m != "static"], "static"):
                    holds.append(await measure(a, tmp, sip_port, counter, mode, top, a.hold_s, callers, pids))
                await ami.close()
    finally:
        sb.stop()
    return summarise(a, steps, holds, held, top, load_before)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rates", default="50,100,150,200,250", help="calls/s, stepped up")
    ap.add_argument("--step-s", type=float, default=20.0, help="seconds per mode per rate")
    ap.add_argument("--hold-s", type=float, default=60.0, help="seconds of each hold at the top rate")
    ap.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    ap.add_argument("--workers", type=int, default=1,
                    help="hotline run --workers N (PostgreSQL): FastAGI in processes of its own, apart from "
                    "the HTTP workers and the AMI consumer; 1 = the single process serving all three")  # fmt: skip
    ap.add_argument("--modes", default="static,raw,agi",
                    help="static (dialplan Goto), raw (the AGI step answered by bench/raw_agi.py), agi (the "
                    "backend's FastAGI routing); run in this order at each rate")  # fmt: skip
    ap.add_argument("--asterisk-realtime", action="store_true",
                    help="run Asterisk with -p (real-time scheduling), as Debian's asterisk.service does in "
                    "production; needs root or CAP_SYS_NICE")  # fmt: skip
    ap.add_argument("--out", default="sip_load")
    a = ap.parse_args()
    out = asyncio.run(run(a))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{a.out}.json").write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    (RESULTS / f"{a.out}.md").write_text(report(out))
    print(report(out))


if __name__ == "__main__":
    main()
