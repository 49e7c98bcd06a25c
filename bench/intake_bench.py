"""Web submissions per second per worker, against a reference route in the same run. Not a test.

On a throwaway database (PostgreSQL by default): the hotline as an operator starts it (``hotline run
--no-asterisk``, the case sweep off, production log level, the citizens' flood limit raised for the
run). One asyncio client (httpx, C concurrent requests) drives, interleaved for R rounds of D seconds:

- ``reference``: GET /api/citizen/options — the same app, middleware and uvicorn, no database write;
- ``submit``: POST /api/citizen/requests — the citizens' form as the page sends it (multipart), each
  from another phone number, so each makes a case: intake routing, de-duplication look-up, numbering,
  the case row, its audit row, the receipt SMS in the outbox, one commit.

Reported: median requests/s of each over the rounds, submissions per second per worker, the median of
the per-round ratios submit/reference, failures, and the load average during each run (the client
shares the machine's cores: the ratio, not the absolute figure, is what carries over).

    .venv/bin/python bench/intake_bench.py                      # PostgreSQL, 5 rounds x 5 s, 1 worker
    .venv/bin/python bench/intake_bench.py --db sqlite --rounds 1 --seconds 2
    .venv/bin/python bench/intake_bench.py --workers 1,2
writes bench/results/intake.json and intake.md
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from bench.backend import backend_env, database, free_port, hotline_run, loadavg, wait_healthy  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
_seq = itertools.count(1)


async def _drive(base: str, target: str, seconds: float, concurrency: int) -> dict[str, Any]:
    ok = failed = 0
    stop = time.monotonic() + seconds

    async def one(client: httpx.AsyncClient) -> None:
        nonlocal ok, failed
        while time.monotonic() < stop:
            if target == "reference":
                r = await client.get("/api/citizen/options")
                good = r.status_code == 200
            else:
                n = next(_seq)
                form = {"type": "complaint", "text": f"第{n}号测试诉求：小区门口路灯不亮，请尽快维修。",
                        "place": "昆明市五华区", "phone": f"139{n % 100_000_000:08d}", "submission_id": f"b{n}"}  # fmt: skip
                r = await client.post("/api/citizen/requests", data=form)
                good = r.status_code == 201
            ok, failed = ok + good, failed + (not good)

    load0 = loadavg()[0]
    t0 = time.monotonic()
    async with httpx.AsyncClient(base_url=base, timeout=60, trust_env=False) as client:
        await asyncio.gather(*(one(client) for _ in range(concurrency)))
    took = time.monotonic() - t0
    return {"rps": ok / took, "ok": ok, "failed": failed, "seconds": took, "load1": [load0, loadavg()[0]]}


async def run_workers(workers: int, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    async with database(args.db, tmp) as url:
        port = free_port()
        var = tmp / f"var{workers}"
        var.mkdir()
        (var / "case_rules.yaml").write_text("sweep_interval_s: 0\n", encoding="utf-8")
        env = backend_env(var, url, port, citizen_submit_limit=10**9, citizen_track_limit=10**9)
        extra = ("--workers", str(workers)) if workers > 1 else ()
        log = tmp / f"hotline{workers}.log"
        with hotline_run(env, log, extra) as proc:
            base = f"http://127.0.0.1:{port}"
            await wait_healthy(base, proc, log)
            await _drive(base, "reference", 1, args.concurrency)  # warm-up
            await _drive(base, "submit", 1, args.concurrency)
            rounds: list[dict[str, Any]] = []
            for _ in range(args.rounds):
                rounds.append(
                    {
                        t: await _drive(base, t, args.seconds, args.concurrency)
                        for t in ("reference", "submit")
                    }
                )
    med = {t: statistics.median(r[t]["rps"] for r in rounds) for t in ("reference", "submit")}
    return {
        "workers": workers,
        "median_rps": med,
        "submissions_per_s_per_worker": med["submit"] / workers,
        "ratio_submit_to_reference_median_of_rounds": statistics.median(
            r["submit"]["rps"] / r["reference"]["rps"] for r in rounds if r["reference"]["rps"]
        ),
        "failed": sum(r[t]["failed"] for r in rounds for t in r),
        "rounds": rounds,
    }


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--workers", default="1", help="comma-separated worker counts, e.g. 1,2")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="intake-bench-") as t:
        runs = [await run_workers(int(w), args, Path(t)) for w in args.workers.split(",")]
    out = {
        "bench": "intake",
        "db": args.db,
        "rounds": args.rounds,
        "seconds": args.seconds,
        "concurrency": args.concurrency,
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
        "runs": runs,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "intake.json").write_text(json.dumps(out, indent=2, ensure_ascii=False), encoding="utf-8")
    lines = [f"# Web submissions ({args.db}, {args.rounds} rounds x {args.seconds:g} s, {args.concurrency} concurrent)", "",
             "| workers | reference req/s | submissions/s | per worker | submit/reference | failed |",
             "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for r in runs:
        m = r["median_rps"]
        lines.append(f"| {r['workers']} | {m['reference']:.0f} | {m['submit']:.1f} | "
                     f"{r['submissions_per_s_per_worker']:.1f} | {r['ratio_submit_to_reference_median_of_rounds']:.3f} | {r['failed']} |")  # fmt: skip
    (RESULTS / "intake.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    asyncio.run(main())
