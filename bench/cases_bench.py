"""Case API throughput and the cost of the 督办 sweep. Not a test.

1. API: a real uvicorn server (one worker, a subprocess) on 127.0.0.1 and an httpx client with a
   bounded number of requests in flight, on SQLite and on PostgreSQL (throwaway databases):
   writes = create + dispatch + sign per case (3 requests), reads = GET /api/cases/{number} and a
   20-row list. Reported per worker (the server is one process).
2. Sweep: 1,000,000 open cases bulk-inserted with COPY into a throwaway PostgreSQL database, then
   ``app.cases.scheduler.sweep`` (set-based UPDATE / INSERT … SELECT on the (status, due_at)
   index) timed, first run and an idempotent second run, with the plan of the marking UPDATE.

    .venv/bin/python bench/cases_bench.py                       # everything
    .venv/bin/python bench/cases_bench.py --cases 600 --reads 4000 --sweep-rows 1000000
writes bench/results/cases.json and cases.md
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from bench.cases_report import write_results  # noqa: E402
from bench.wrk import run_wrk  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
PG_ADMIN = os.environ.get("HOTLINE_TEST_PG", "postgresql://root@127.0.0.1:5432/test")
PG_BASE = "postgresql+asyncpg://root@127.0.0.1:5432/"
INFLIGHT = 16


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def serve(db_url: str, port: int, var_dir: str) -> None:
    """Child process: the app under uvicorn, scheduler off."""
    import uvicorn

    from app.main import create_app
    from app.settings import Settings

    Path(var_dir).mkdir(parents=True, exist_ok=True)
    (Path(var_dir) / "case_rules.yaml").write_text("sweep_interval_s: 0\n", encoding="utf-8")
    settings = Settings(
        var_dir=Path(var_dir),
        database_url=db_url,
        ami_enabled=False,
        agi_enabled=False,
        session_secret="bench-" + uuid.uuid4().hex,
        http_port=port,
    )
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def seed(db_url: str) -> None:
    from app.auth.models import Role
    from app.auth.schemas import UserCreate
    from app.auth.service import create_user
    from app.db import Database
    from app.units.schemas import UnitCreate
    from app.units.service import create_unit

    db = Database(db_url)
    async with db.sessionmaker() as s:
        await create_unit(
            s, UnitCreate(code="km-water", name="昆明市供水公司", kind="utility", platform="kunming")
        )
        for name, role, kw in (("agent", Role.agent, {}), ("unit", Role.unit, {"unit_code": "km-water"})):
            await create_user(
                s, UserCreate(username=name, password="bench-pass-1", role=role, platform="kunming", **kw)
            )
        await s.commit()
    await db.dispose()


async def bounded(n: int, fn: Any) -> float:
    """Run fn(i) for i < n with INFLIGHT in flight; return elapsed seconds."""
    sem = asyncio.Semaphore(INFLIGHT)

    async def one(i: int) -> None:
        async with sem:
            await fn(i)

    t0 = time.perf_counter()
    await asyncio.gather(*[one(i) for i in range(n)])
    return time.perf_counter() - t0


async def api_bench(kind: str, n_cases: int, n_reads: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="cases-bench-"))
    pg_name = None
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    else:
        pg_name = f"cases_bench_{uuid.uuid4().hex[:8]}"
        await pg_admin(f'CREATE DATABASE "{pg_name}"')
        url = PG_BASE + pg_name
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve", url, str(port), str(tmp / "var")
    )
    try:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(
            base_url=base, timeout=60, limits=httpx.Limits(max_connections=INFLIGHT)
        ) as c:
            for _ in range(300):
                try:
                    if (await c.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            await seed(url)
            ha = {
                "Authorization": "Bearer "
                + (
                    await c.post("/api/auth/login", json={"username": "agent", "password": "bench-pass-1"})
                ).json()["token"]
            }
            hu = {
                "Authorization": "Bearer "
                + (
                    await c.post("/api/auth/login", json={"username": "unit", "password": "bench-pass-1"})
                ).json()["token"]
            }
            numbers: list[str] = []
            errors = 0

            async def write(i: int) -> None:
                nonlocal errors
                r = await c.post(
                    "/api/cases",
                    headers=ha,
                    json={
                        "channel": "phone",
                        "type": "complaint",
                        "summary": f"停水 {i}",
                        "detail": "bench",
                        "citizen_phone": f"139{i:08d}",
                        "platform": "kunming",
                    },
                )
                if r.status_code != 201:
                    errors += 1
                    return
                n = r.json()["case"]["number"]
                r1 = await c.post(
                    f"/api/cases/{n}/transitions",
                    headers=ha,
                    json={"action": "dispatch", "unit_code": "km-water"},
                )
                r2 = await c.post(f"/api/cases/{n}/transitions", headers=hu, json={"action": "sign"})
                errors += (r1.status_code != 200) + (r2.status_code != 200)
                numbers.append(n)

            w_s = await bounded(n_cases, write)

            async def read_one(i: int) -> None:
                nonlocal errors
                r = await c.get(f"/api/cases/{random.choice(numbers)}", headers=ha)
                errors += r.status_code != 200

            async def read_list(i: int) -> None:
                nonlocal errors
                r = await c.get("/api/cases", params={"limit": 20}, headers=ha)
                errors += r.status_code != 200

            async def read_me(i: int) -> None:
                nonlocal errors
                r = await c.get("/api/auth/me", headers=ha)
                errors += r.status_code != 200

            wrk = {  # a C client: the server's own capacity, not the Python client's
                "auth_me": run_wrk(f"{base}/api/auth/me", ha),
                "read_one": run_wrk(f"{base}/api/cases/{numbers[0]}", ha) if numbers else None,
                "read_list": run_wrk(f"{base}/api/cases?limit=20", ha),
            }
            r0_s = await bounded(n_reads, read_me)  # the floor: any authenticated route (token + user row)
            r1_s = await bounded(n_reads, read_one)
            r2_s = await bounded(n_reads // 2, read_list)
        return {
            "backend": kind,
            "cases": n_cases,
            "write_requests": 3 * n_cases,
            "write_s": round(w_s, 3),
            "write_req_per_s": round(3 * n_cases / w_s, 1),
            "cases_per_s": round(n_cases / w_s, 1),
            "baseline_auth_me_req_per_s": round(n_reads / r0_s, 1),
            "read_requests": n_reads,
            "read_one_req_per_s": round(n_reads / r1_s, 1),
            "read_list_requests": n_reads // 2,
            "read_list_req_per_s": round((n_reads // 2) / r2_s, 1),
            "errors": errors,
            "wrk": wrk,
            "inflight": INFLIGHT,
            "server_workers": 1,
        }
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 10)
        if pg_name:
            await pg_admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


async def sweep_bench(rows: int, overdue_frac: float) -> dict[str, Any]:
    import asyncpg
    from sqlalchemy import text

    from app.cases.context import CaseContext
    from app.cases.rules import CaseRules
    from app.cases.scheduler import sweep
    from app.db import Database
    from app.migrate import upgrade_async
    from callflow import load_config

    name = f"cases_sweep_{uuid.uuid4().hex[:8]}"
    await pg_admin(f'CREATE DATABASE "{name}"')
    url = PG_BASE + name
    try:
        await upgrade_async(url)
        now = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # Thursday 10:00 in Beijing
        states = ["dispatched", "signed", "in_progress", "extension_requested", "intake"]
        rng = random.Random(7)
        t0 = time.perf_counter()

        def record(i: int) -> tuple[Any, ...]:
            late = rng.random() < overdue_frac
            due = (
                now - timedelta(minutes=rng.randint(1, 600))
                if late
                else now + timedelta(hours=rng.randint(1, 2000))
            )
            created = now - timedelta(days=20)
            return (
                f"KM-BENCH-{i:07d}",
                "kunming",
                "phone",
                "complaint",
                "bench",
                "",
                states[i % 5],
                False,
                0,
                False,
                created,
                created,
                due,
                "km-water",
                f"139{i:08d}",
            )

        cols = [
            "number",
            "platform",
            "channel",
            "type",
            "summary",
            "detail",
            "status",
            "confidential",
            "extension_count",
            "published",
            "created_at",
            "updated_at",
            "due_at",
            "lead_unit",
            "citizen_phone",
        ]
        conn = await asyncpg.connect(PG_ADMIN.rsplit("/", 1)[0] + "/" + name)
        try:
            batch = 100_000
            for start in range(0, rows, batch):
                await conn.copy_records_to_table(
                    "cases", records=[record(i) for i in range(start, min(rows, start + batch))], columns=cols
                )
            await conn.execute("VACUUM ANALYZE cases")
            plan = await conn.fetch(
                "EXPLAIN UPDATE cases SET overdue_at = $1 WHERE status = ANY($2::varchar[]) AND due_at IS NOT NULL "
                "AND due_at < $1 AND overdue_at IS NULL",
                now,
                list(states) + ["returned", "reopened"],
            )
        finally:
            await conn.close()
        load_s = time.perf_counter() - t0
        ctx = CaseContext(CaseRules(), load_config())
        db = Database(url)
        timings = []
        results = []
        for _ in range(2):
            async with db.sessionmaker() as s:
                t = time.perf_counter()
                got = await sweep(s, now, ctx)
                await s.commit()
                timings.append(time.perf_counter() - t)
                results.append(got)
        async with db.sessionmaker() as s:
            outbox = await s.scalar(text("SELECT count(*) FROM outbox"))
        await db.dispose()
        return {
            "rows": rows,
            "overdue_fraction": overdue_frac,
            "load_s": round(load_s, 2),
            "sweep_first_s": round(timings[0], 3),
            "sweep_second_s": round(timings[1], 3),
            "first": results[0],
            "second": results[1],
            "outbox_rows": outbox,
            "plan": [r[0] for r in plan],
        }
    finally:
        await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def main(args: argparse.Namespace) -> None:
    out: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "api": [],
        "sweep": [],
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }
    for kind in ("sqlite", "postgresql"):
        r = await api_bench(kind, args.cases, args.reads)
        print(json.dumps(r, ensure_ascii=False), flush=True)
        out["api"].append(r)
    for frac in args.overdue:
        s = await sweep_bench(args.sweep_rows, frac)
        print(json.dumps({k: v for k, v in s.items() if k != "plan"}, ensure_ascii=False), flush=True)
        out["sweep"].append(s)
    write_results(out)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(sys.argv[2], int(sys.argv[3]), sys.argv[4])
        sys.exit(0)
    p = argparse.ArgumentParser()
    p.add_argument("--cases", type=int, default=600)
    p.add_argument("--reads", type=int, default=4000)
    p.add_argument("--sweep-rows", type=int, default=1_000_000)
    p.add_argument("--overdue", type=float, nargs="*", default=[0.01, 0.10])
    asyncio.run(main(p.parse_args()))
