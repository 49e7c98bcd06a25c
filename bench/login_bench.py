"""What a burst of logins does to everything else on the event loop. Not a test.

A backend process (SQLite, no Asterisk) serves /health while N concurrent logins (argon2 each) run.
Two variants, interleaved in the same run: argon2 in its worker threads (the code as it is) and, as
the reference, argon2 called on the event loop (how it was before issue 14). Reported: /health
latency idle and during the burst (p50 / max), the burst's wall time, and the load average.

    .venv/bin/python bench/login_bench.py --logins 16 --repeat 3
writes bench/results/login.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def serve(port: int, var: str, on_loop: bool) -> None:
    import uvicorn

    from app.auth import service
    from app.main import create_app
    from tests.conftest import make_settings

    if on_loop:  # the reference: argon2 on the event loop, as before
        async def verify(h: str, p: str) -> bool:
            return service.verify_password(h, p)

        async def hash_(p: str) -> str:
            return service.hash_password(p)

        service.verify_password_async = verify  # type: ignore[assignment]
        service.hash_password_async = hash_  # type: ignore[assignment]
    settings = make_settings(Path(var), f"sqlite+aiosqlite:///{var}/h.db", login_address_free_failures=10**6,
                             login_account_free_failures=10**6)
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning")


async def one_round(port: int, logins: int, idle_n: int = 20) -> dict[str, Any]:
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=120) as c:
        for _ in range(300):
            try:
                if (await c.get("/health")).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
        idle = []
        for _ in range(idle_n):
            t = time.perf_counter()
            await c.get("/health")
            idle.append(time.perf_counter() - t)

        async def login(i: int) -> None:
            await c.post("/api/auth/login", json={"username": f"nobody{i}", "password": "wrong-password"})

        t0 = time.perf_counter()
        burst = asyncio.gather(*(login(i) for i in range(logins)))
        during = []
        while not burst.done():
            t = time.perf_counter()
            await c.get("/health")
            during.append(time.perf_counter() - t)
            await asyncio.sleep(0.01)
        await burst
        wall = time.perf_counter() - t0
    return {"idle_p50_ms": statistics.median(idle) * 1000, "burst_p50_ms": statistics.median(during) * 1000,
            "burst_max_ms": max(during) * 1000, "burst_wall_s": wall, "health_samples": len(during)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--logins", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--serve", nargs=3, metavar=("PORT", "VAR", "ONLOOP"))
    a = ap.parse_args()
    if a.serve:
        serve(int(a.serve[0]), a.serve[1], a.serve[2] == "1")
        return 0
    from tests.conftest import free_port

    rows: dict[str, list[dict[str, Any]]] = {"threadpool": [], "on_loop_reference": []}
    for _ in range(a.repeat):
        for name, on_loop in (("threadpool", False), ("on_loop_reference", True)):
            port, var = free_port(), tempfile.mkdtemp(prefix="login-bench-")
            proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port), var, "1" if on_loop else "0"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                rows[name].append(asyncio.run(one_round(port, a.logins)))
            finally:
                proc.terminate()
                proc.wait(10)
    summary = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in rows.items()}
    out = {"logins": a.logins, "repeat": a.repeat, "loadavg": os.getloadavg(), "median": summary, "rounds": rows,
           "ratio_burst_p50_on_loop_over_threadpool":
               summary["on_loop_reference"]["burst_p50_ms"] / summary["threadpool"]["burst_p50_ms"]}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "login.json").write_text(json.dumps(out, indent=2))
    print(json.dumps({"median": summary, "loadavg": out["loadavg"],
                      "ratio": out["ratio_burst_p50_on_loop_over_threadpool"]}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
