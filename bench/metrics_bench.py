"""What one Prometheus scrape of /metrics costs as the database grows. Not a test.

For SQLite and PostgreSQL (throwaway databases): bulk-insert N calls (half of them today, queued,
60 % of those answered), N/10 pending outbox messages and N/10 recordings with transcription jobs,
then time GET /metrics (the database gauges: GROUP BYs over jobs/outbox/surveys, today's calls) and,
interleaved as the same-run reference, GET /health — in-process over ASGI, medians of the repeats.

    .venv/bin/python bench/metrics_bench.py --calls 100000 --repeat 15
writes bench/results/metrics.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from sqlalchemy import insert  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
PG_ADMIN = os.environ.get("HOTLINE_TEST_PG", "postgresql://root@127.0.0.1:5432/test")
TOKEN = "bench-metrics-token-0123456789"


async def _pg(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def seed(app: Any, n_calls: int) -> None:
    from app.calls.models import Call
    from app.outbox.models import OutboxMessage
    from app.voicemail.models import Recording, TranscriptionJob

    now = datetime.now(UTC)
    calls = []
    for i in range(n_calls):
        today = i % 2 == 0
        at = now - timedelta(minutes=i % 600) if today else now - timedelta(days=1 + i % 300)
        answered = today and i % 5 < 3
        calls.append({"uniqueid": f"b-{i}", "caller": "13987112345", "platform": "kunming", "route": "queue",
                      "queue": "q-kunming", "outcome": "completed" if answered else "abandoned",
                      "arrived_at": at, "queued_at": at, "answered_at": at if answered else None})  # fmt: skip
    n_small = max(1, n_calls // 10)
    async with app.state.runtime.db.sessionmaker() as s:
        for k in range(0, len(calls), 5000):
            await s.execute(insert(Call), calls[k : k + 5000])
        await s.execute(insert(OutboxMessage), [
            {"channel": "sms", "recipient": "13987112345", "body": "您的工单已受理", "created_at": now}
            for _ in range(n_small)
        ])  # fmt: skip
        await s.execute(insert(Recording), [
            {"path": f"/nonexistent/{i}.wav", "sha256": "0" * 64, "platform": "kunming", "created_at": now}
            for i in range(n_small)
        ])  # fmt: skip
        await s.flush()
        ids = [r for (r,) in (await s.execute(Recording.__table__.select().with_only_columns(Recording.id)))]
        await s.execute(insert(TranscriptionJob), [{"recording_id": r} for r in ids])
        await s.commit()


async def measure(db_url: str, var: Path, n_calls: int, repeat: int) -> dict[str, Any]:
    from app.main import create_app
    from app.settings import Settings

    settings = Settings(var_dir=var, database_url=db_url, ami_enabled=False, agi_enabled=False,
                        stt_engine="none", metrics_token=TOKEN, session_secret=uuid.uuid4().hex)  # fmt: skip
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        t0 = time.perf_counter()
        await seed(app, n_calls)
        seed_s = time.perf_counter() - t0
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as c:
            auth = {"Authorization": f"Bearer {TOKEN}"}
            await c.get("/metrics", headers=auth)  # warm
            m_ms, h_ms = [], []
            for _ in range(repeat):
                t = time.perf_counter()
                r = await c.get("/health")
                h_ms.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                r = await c.get("/metrics", headers=auth)
                m_ms.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200
            body = r.text
    offered = [ln for ln in body.splitlines() if ln.startswith("hotline_calls_offered_today")]
    return {
        "calls": n_calls, "seed_s": round(seed_s, 1), "metrics_ms_median": round(statistics.median(m_ms), 1),
        "health_ms_median": round(statistics.median(h_ms), 1),
        "ratio_metrics_to_health": round(statistics.median(m_ms) / statistics.median(h_ms), 2),
        "bytes": len(body), "offered_today_line": offered[0] if offered else None,
    }  # fmt: skip


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--backends", default="sqlite,postgresql")
    a = ap.parse_args()
    out: dict[str, Any] = {"loadavg_before": os.getloadavg(), "results": {}}
    for backend in a.backends.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            if backend == "sqlite":
                url = f"sqlite+aiosqlite:///{tmp}/bench.db"
                res = await measure(url, Path(tmp) / "var", a.calls, a.repeat)
            else:
                name = f"hotline_bench_metrics_{uuid.uuid4().hex[:6]}"
                await _pg(f'CREATE DATABASE "{name}"')
                try:
                    url = (
                        PG_ADMIN.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0]
                        + "/"
                        + name
                    )
                    res = await measure(url, Path(tmp) / "var", a.calls, a.repeat)
                finally:
                    await _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        out["results"][backend] = res
        print(backend, json.dumps(res, ensure_ascii=False), flush=True)
    out["loadavg_after"] = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "metrics.json").write_text(json.dumps(out, ensure_ascii=False, indent=1))
    print("load average", out["loadavg_before"], "→", out["loadavg_after"])


if __name__ == "__main__":
    asyncio.run(main())
