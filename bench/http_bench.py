"""HTTP throughput per request kind, against a minimal reference in the same run. Not a test.

On a throwaway PostgreSQL database: the hotline as an operator starts it (``hotline run --no-asterisk``,
telephony off, the case sweep off, production log level) and, beside it, bench/http_reference.py — a
minimal FastAPI app reading one row by primary key with the same driver, engine settings and uvicorn
options. Debian's ``wrk`` (a C load generator, one thread, 16 connections) drives each target in turn,
interleaved: reference, cheapest authenticated route (GET /api/auth/me), GET /api/cases/{number}, the
case list (20 rows) — R rounds, each target D seconds per round. Reported: median requests/s of each
target over the rounds, its ratio to the reference's median, the median of the per-round ratios, the
load average during every run, and whether any request failed. With ``--workers 1,2`` the curve of
throughput against worker processes (`hotline run --workers N` when it exists).

    .venv/bin/python bench/http_bench.py                         # 5 rounds x 5 s, one worker
    .venv/bin/python bench/http_bench.py --rounds 1 --seconds 1 --cases 20    # smallest
    .venv/bin/python bench/http_bench.py --workers 1,2
writes bench/results/http.json and http.md
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from bench.backend import (  # noqa: E402
    HOTLINE,
    add_users,
    backend_env,
    cpu_s,
    database,
    free_port,
    hotline_run,
    loadavg,
    machine_cpu,
    postgres_cpu_s,
    wait_healthy,
)
from bench.wrk import run_wrk  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PASSWORD = "bench-pass-1"
TARGETS = ("reference", "me", "case", "list")
TARGETS_ABOUT = {
    "reference": "minimal FastAPI route: one row by primary key (same driver, engine, uvicorn)",
    "me": "GET /api/auth/me: the cheapest authenticated route",
    "case": "GET /api/cases/{number}: a dispatched case with co-units and its audit log",
    "list": "GET /api/cases?limit=20: the agent's case list",
}
GOALS = {"case": 0.6, "list": 0.4, "me": 0.8}


def workers_supported() -> bool:
    out = subprocess.run([str(HOTLINE), "run", "--help"], capture_output=True, text=True, timeout=60).stdout
    return "--workers" in out


async def seed(base: str, db_url: str, n_cases: int) -> tuple[str, dict[str, str]]:
    """Units and users, then n cases created (and every other one dispatched with a co-unit) through the
    API. Returns one dispatched case's number and the agent's bearer header."""
    from app.db import Database
    from app.units.schemas import UnitCreate
    from app.units.service import create_unit

    db = Database(db_url)
    async with db.sessionmaker() as s:
        for code, name in (("km-water", "昆明市供水公司"), ("km-power", "昆明供电局")):
            await create_unit(s, UnitCreate(code=code, name=name, kind="utility", platform="kunming"))
        await s.commit()
    await db.dispose()
    await add_users(db_url, [{"username": "bench.agent", "role": "agent", "platform": "kunming"}], PASSWORD)
    async with httpx.AsyncClient(base_url=base, timeout=60) as c:
        r = await c.post("/api/auth/login", json={"username": "bench.agent", "password": PASSWORD})
        r.raise_for_status()
        h = {"Authorization": f"Bearer {r.json()['token']}"}
        c.cookies.clear()
        sem = asyncio.Semaphore(8)
        numbers: list[str] = []

        async def one(i: int) -> None:
            async with sem:
                r = await c.post(
                    "/api/cases", headers=h,
                    json={"channel": "phone", "type": "complaint", "summary": f"小区停水 {i}", "detail": "五华区某小区停水三天",
                          "citizen_name": "张三", "citizen_phone": f"139{i:08d}", "category_code": "0101"},
                )  # fmt: skip
                r.raise_for_status()
                n = r.json()["case"]["number"]
                if i % 2 == 0:
                    r = await c.post(
                        f"/api/cases/{n}/transitions", headers=h,
                        json={"action": "dispatch", "unit_code": "km-water", "co_units": ["km-power"], "note": "请核查"},
                    )  # fmt: skip
                    r.raise_for_status()
                    numbers.append(n)

        await asyncio.gather(*(one(i) for i in range(n_cases)))
    return numbers[len(numbers) // 2], h


def reference_proc(db_url: str, port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "http_reference.py"), "--db", db_url, "--port", str(port),
         "--workers", str(workers)],
        cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


async def wait_reference(base: str, proc: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=5) as c:
        for _ in range(400):
            if proc.poll() is not None:
                raise RuntimeError("the reference app exited")
            try:
                if (await c.get("/ref/cases/1")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.3)
    raise RuntimeError("the reference app did not start")


async def one_setting(a: argparse.Namespace, workers: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="http-bench-"))
    port, ref_port = free_port(), free_port()
    base, ref_base = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{ref_port}"
    async with database("postgresql", tmp) as db_url:
        var = tmp / "var"
        var.mkdir()
        (var / "case_rules.yaml").write_text("sweep_interval_s: 0\n", encoding="utf-8")
        env = backend_env(var, db_url, port, ami_enabled="false", agi_enabled="false", log_level=a.log_level)
        args = ("--workers", str(workers)) if workers > 1 else ()
        with hotline_run(env, tmp / "backend.log", args) as proc:
            await wait_healthy(base, proc, tmp / "backend.log")
            number, h = await seed(base, db_url, a.cases)
            ref = reference_proc(db_url, ref_port, workers, tmp / "reference.log")
            try:
                await wait_reference(ref_base, ref)
                urls = {
                    "reference": (f"{ref_base}/ref/cases/{a.cases // 2}", {}),
                    "me": (f"{base}/api/auth/me", h),
                    "case": (f"{base}/api/cases/{number}", h),
                    "list": (f"{base}/api/cases?limit=20", h),
                }
                for name, (url, hdr) in urls.items():  # warm up (and fail early on a wrong URL)
                    async with httpx.AsyncClient(timeout=30) as c:
                        r = await c.get(url, headers=hdr)
                        assert r.status_code == 200, (name, r.status_code, r.text[:300])
                    run_wrk(url, hdr, seconds=1, connections=a.connections)
                rounds: list[dict[str, Any]] = []
                for _ in range(a.rounds):  # interleaved: every target once per round
                    row: dict[str, Any] = {}
                    for name in TARGETS:
                        url, hdr = urls[name]
                        server = ref.pid if name == "reference" else proc.pid
                        cpu0, pg0, (busy0, total0) = cpu_s(server), postgres_cpu_s(), machine_cpu()
                        res = run_wrk(url, hdr, seconds=a.seconds, connections=a.connections)
                        if res is None:
                            raise SystemExit("wrk is not installed (scripts/install-system-deps.sh)")
                        # CPU seconds the serving processes spent per request: what a request costs,
                        # whatever share of the CPUs the other jobs on the machine left them
                        served = (res["req_per_s"] or 0) * a.seconds
                        res["cpu_ms_per_req"] = round((cpu_s(server) - cpu0) * 1000 / served, 3) if served else None
                        # PostgreSQL's share of a request, and how much of the cores the whole machine used:
                        # throughput stops growing with workers once the cores are busy
                        res["pg_cpu_ms_per_req"] = round((postgres_cpu_s() - pg0) * 1000 / served, 3) if served else None
                        busy1, total1 = machine_cpu()
                        res["cores_busy"] = round((busy1 - busy0) / (total1 - total0), 3) if total1 > total0 else None
                        res["loadavg"] = loadavg()
                        row[name] = res
                    rounds.append(row)
            finally:
                if ref.poll() is None:
                    import os
                    import signal

                    os.killpg(ref.pid, signal.SIGINT)
                    ref.wait(20)
    med = {t: statistics.median(r[t]["req_per_s"] for r in rounds) for t in TARGETS}
    out: dict[str, Any] = {
        "workers": workers,
        "median_req_per_s": {t: round(v, 1) for t, v in med.items()},
        "ratio_to_reference": {t: round(med[t] / med["reference"], 3) for t in TARGETS if t != "reference"},
        "median_of_round_ratios": {
            t: round(statistics.median(r[t]["req_per_s"] / r["reference"]["req_per_s"] for r in rounds), 3)
            for t in TARGETS
            if t != "reference"
        },
        "p99_ms_median": {t: statistics.median(r[t]["p99_ms"] for r in rounds) for t in TARGETS},
        "cpu_ms_per_req_median": {t: statistics.median(r[t]["cpu_ms_per_req"] for r in rounds) for t in TARGETS},
        "pg_cpu_ms_per_req_median": {t: statistics.median(r[t]["pg_cpu_ms_per_req"] for r in rounds) for t in TARGETS},
        "cores_busy_median": {t: statistics.median(r[t]["cores_busy"] for r in rounds) for t in TARGETS},
        # the reference's CPU per request over the target's: the same ratio as req/s when both had the
        # CPUs to themselves
        "cpu_ratio_to_reference": {
            t: round(statistics.median(r["reference"]["cpu_ms_per_req"] / r[t]["cpu_ms_per_req"] for r in rounds), 3)
            for t in TARGETS
            if t != "reference"
        },
        "non_2xx": sum(r[t]["non_2xx"] for r in rounds for t in TARGETS),
        "rounds": rounds,
    }
    return out


async def main(a: argparse.Namespace) -> None:
    wanted = [int(w) for w in a.workers.split(",")]
    supported = workers_supported()
    settings = []
    skipped = []
    for w in wanted:
        if w > 1 and not supported:
            skipped.append(w)
            continue
        settings.append(await one_setting(a, w))
    out = {
        "what": TARGETS_ABOUT,
        "goals_per_worker": GOALS,
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} CPUs, shared with other jobs",
        "wrk": f"1 thread, {a.connections} connections, {a.seconds} s per target per round, {a.rounds} rounds",
        "log_level": a.log_level,
        "command": "bench/http_bench.py " + " ".join(sys.argv[1:]),
        "workers_not_run": skipped and f"{skipped}: `hotline run --workers` does not exist on this checkout",
        "settings": settings,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{a.out}.json").write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    (RESULTS / f"{a.out}.md").write_text(report(out))
    print(report(out))


def report(out: dict[str, Any]) -> str:
    lines = [
        "# HTTP throughput against a minimal reference (PostgreSQL, same run)",
        "",
        f"`{out['command']}` — wrk {out['wrk']}; log level {out['log_level']}; {out['machine']}.",
        "",
        "| workers | target | req/s (median) | ratio to reference | median of round ratios | goal | p99 ms "
        "| server CPU ms/request | CPU ratio (reference's CPU/request ÷ target's) | PostgreSQL CPU ms/request "
        "| cores busy (whole machine) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in out["settings"]:
        for t in TARGETS:
            ratio = s["ratio_to_reference"].get(t, 1.0)
            rr = s["median_of_round_ratios"].get(t, 1.0)
            goal = GOALS.get(t)
            lines.append(
                f"| {s['workers']} | {t} | {s['median_req_per_s'][t]} | {ratio} | {rr} | "
                f"{'≥ ' + str(goal) if goal else '—'} | {s['p99_ms_median'][t]} | "
                f"{s['cpu_ms_per_req_median'][t]} | {s['cpu_ratio_to_reference'].get(t, 1.0)} | "
                f"{s.get('pg_cpu_ms_per_req_median', {}).get(t, '—')} | "
                f"{format(s['cores_busy_median'][t], '.0%') if s.get('cores_busy_median') else '—'} |"
            )
    lines.append("")
    for s in out["settings"]:
        loads = [r[t]["loadavg"][0] for r in s["rounds"] for t in TARGETS]
        lines.append(
            f"- {s['workers']} worker(s): load average (1 min) during the runs {min(loads)}–{max(loads)}; "
            f"failed requests {s['non_2xx']}"
        )
    if out["workers_not_run"]:
        lines.append(f"- workers {out['workers_not_run']}")
    lines += ["", "Targets:"] + [f"- `{k}`: {v}" for k, v in out["what"].items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--cases", type=int, default=200, help="cases created before measuring")
    ap.add_argument("--workers", default="1", help="comma-separated worker counts, e.g. 1,2")
    ap.add_argument("--log-level", default="INFO", help="the hotline's log level (INFO: one access line per request)")
    ap.add_argument("--out", default="http")
    asyncio.run(main(ap.parse_args()))
