"""Case exchange between two deployments (Kunming → province), each a real uvicorn server in its own
process with its own SQLite database, signing and the durable outbox on. Not a test.

Measured in one run, rounds interleaved with the reference:
- hand-overs per second over the exchange: create + 移交 through Kunming's API (concurrency C) until
  every message is applied at the province; reference: the same create + 移交 inside one deployment
  (the province hands its own cases to 曲靖, no exchange) — reported as a ratio;
- p50/p99 latency from the message's creation in Kunming's outbox (the 移交's commit) to its
  application at the province (both clocks are this machine's);
- the time to drain a backlog: the province is killed (SIGKILL), B hand-overs are made meanwhile,
  it is restarted, and the time from its first answer to the last message applied is taken.

    .venv/bin/python bench/exchange_bench.py --handovers 200 --repeat 2 --backlog 10000
    .venv/bin/python bench/exchange_bench.py --backlog-only --backlog 10000 --out bench/results/exchange_backlog.json
writes bench/results/exchange.json. The deployments run with the shipped retry timers (2 s doubling to
300 s) unless --retry-base/--retry-max say otherwise; for the drain it also reports p50/p99 from the
移交's commit to its application, from the restart to the application, and each deployment's CPU
seconds during the drain.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.exchange_cluster import Node, province_and_prefectures  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _ts(s: str) -> float:
    return datetime.fromisoformat(s).timestamp()


async def _handovers(node: Node, who: str, target: str, n: int, conc: int) -> list[str]:
    numbers: list[str] = []
    sem = asyncio.Semaphore(conc)

    async def one(i: int) -> None:
        async with sem:
            c = await node.call("POST", "/api/cases", who, expect=201, json={"summary": f"跨州市事项 {i}"})
            number = c["case"]["number"]
            await node.act(who, number, "hand_over", target_platform=target, note="请协调")
            numbers.append(number)

    await asyncio.gather(*(one(i) for i in range(n)))
    return numbers


async def _backlog(km: Node, n: int) -> None:
    """n hand-overs made by Kunming's own case service and exchange listener (the code behind its API,
    without HTTP), committed in batches of 100, while Kunming's node runs and the province is down."""
    from sqlalchemy import select

    from app.auth.models import User
    from app.cases import service
    from app.cases.context import CaseContext
    from app.cases.rules import CaseRules
    from app.cases.schemas import CaseCreate
    from app.db import Database
    from app.exchange.service import Exchange
    from app.settings import Settings
    from callflow import load_config

    settings = Settings(**km.settings)
    remote = {p: peer.name for peer in settings.exchange_peers for p in peer.platforms}
    ctx = CaseContext(CaseRules(), load_config(), remote, frozenset(settings.exchange_platforms))
    ctx.listeners.append(Exchange(settings, ctx).on_transition)
    db = Database(settings.database_url)
    try:
        for start in range(0, n, 100):
            async with db.sessionmaker() as s:
                user = await s.scalar(select(User).where(User.username == "km.agent"))
                for i in range(start, min(start + 100, n)):
                    case = await service.create_case(s, CaseCreate(summary=f"积压事项 {i}"), user, ctx=ctx)
                    await service.transition(
                        s, case, "hand_over", user, "请协调", ctx=ctx, target_platform="province"
                    )
                await s.commit()
    finally:
        await db.dispose()


async def _applied(prov_db: Path) -> int:
    return int(_rows(prov_db, "select count(*) from exchange_inbox where state = 'applied'")[0][0])


async def _wait_applied(prov_db: Path, total: int, timeout: float = 3600) -> float:
    t0 = time.monotonic()
    while await _applied(prov_db) < total:
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"only {await _applied(prov_db)} of {total} applied")
        await asyncio.sleep(0.05)
    return time.monotonic()


def _latencies(km_db: Path, prov_db: Path, since_id: int) -> list[float]:
    sent = dict(_rows(km_db, f"select message_id, created_at from exchange_outbox where id > {since_id}"))
    got = _rows(prov_db, "select message_id, applied_at from exchange_inbox where state = 'applied'")
    return [(_ts(a) - _ts(sent[m])) * 1000 for m, a in got if m in sent and a]


def _cpu_s(pid: int | None) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


async def main(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="exchange-bench-"))
    dbs = {name: tmp / f"{name}.db" for name in ("prov", "km")}
    nodes = province_and_prefectures(
        tmp, {k: f"sqlite+aiosqlite:///{v}" for k, v in dbs.items()}, with_dali=False
    )
    km, prov = nodes["km"], nodes["prov"]
    for n in nodes.values():  # the deployments' retry timers (the test cluster's are short)
        n.settings |= {"exchange_retry_base_s": args.retry_base, "exchange_retry_max_s": args.retry_max}
        for peer in n.settings["exchange_peers"]:
            peer["batch"] = args.batch
    out: dict[str, Any] = {"handovers": args.handovers, "concurrency": args.concurrency, "repeat": args.repeat,
                           "backlog": args.backlog, "retry_base_s": args.retry_base, "batch": args.batch, "retry_max_s": args.retry_max,
                           "rounds": {"exchange": [], "local_reference": []}}  # fmt: skip
    try:
        await asyncio.gather(km.start(), prov.start())
        await km.login("km.agent")
        await prov.login("prov.sup")
        for _ in range(0 if args.backlog_only else args.repeat):
            # the exchange: Kunming hands over to the province's deployment
            base_out = int(_rows(dbs["km"], "select coalesce(max(id), 0) from exchange_outbox")[0][0])
            before = await _applied(dbs["prov"])
            t0 = time.monotonic()
            await _handovers(km, "km.agent", "province", args.handovers, args.concurrency)
            t1 = await _wait_applied(dbs["prov"], before + args.handovers)
            lat = _latencies(dbs["km"], dbs["prov"], base_out)
            out["rounds"]["exchange"].append({
                "handovers_per_s": args.handovers / (t1 - t0), "wall_s": t1 - t0,
                "p50_ms": _pct(lat, 0.5), "p99_ms": _pct(lat, 0.99), "samples": len(lat),
            })  # fmt: skip
            # the reference: the same API work inside one deployment (province → 曲靖), no exchange
            t0 = time.monotonic()
            await _handovers(prov, "prov.sup", "qujing", args.handovers, args.concurrency)
            t1 = time.monotonic()
            out["rounds"]["local_reference"].append(
                {"handovers_per_s": args.handovers / (t1 - t0), "wall_s": t1 - t0}
            )
        if not args.backlog_only:
            med = {k: {m: statistics.median(r[m] for r in v) for m in v[0]} for k, v in out["rounds"].items()}
            med["ratio_exchange_to_local"] = (
                med["exchange"]["handovers_per_s"] / med["local_reference"]["handovers_per_s"]
            )
            out["median"] = med

        if args.backlog:
            await prov.kill()
            before = int(
                _rows(dbs["prov"], "select count(*) from exchange_inbox where state = 'applied'")[0][0]
            )
            base_out = int(_rows(dbs["km"], "select coalesce(max(id), 0) from exchange_outbox")[0][0])
            t0 = time.monotonic()
            await _backlog(km, args.backlog)
            out["backlog_made_s"] = time.monotonic() - t0
            pending = int(
                _rows(dbs["km"], "select count(*) from exchange_outbox where status = 'pending'")[0][0]
            )
            await prov.start()
            t_up, up_at = time.monotonic(), time.time()
            cpu0 = {n.name: _cpu_s(n.proc.pid if n.proc else None) for n in (km, prov)}
            t_done = await _wait_applied(dbs["prov"], before + args.backlog)
            cpu = {n.name: _cpu_s(n.proc.pid if n.proc else None) - cpu0[n.name] for n in (km, prov)}
            lat = _latencies(dbs["km"], dbs["prov"], base_out)  # from the 移交's commit (the peer was down)
            sent = dict(
                _rows(dbs["km"], f"select message_id, created_at from exchange_outbox where id > {base_out}")
            )
            got = _rows(
                dbs["prov"], "select message_id, applied_at from exchange_inbox where state = 'applied'"
            )
            after_up = [(_ts(a) - up_at) * 1000 for m, a in got if m in sent and a]
            out["backlog_pending_at_restart"] = pending
            out["backlog_drain_s"] = t_done - t_up
            out["backlog_drain_handovers_per_s"] = args.backlog / (t_done - t_up)
            out["backlog_send_to_applied_ms"] = {
                "p50": _pct(lat, 0.5),
                "p99": _pct(lat, 0.99),
                "samples": len(lat),
            }
            out["backlog_restart_to_applied_ms"] = {"p50": _pct(after_up, 0.5), "p99": _pct(after_up, 0.99)}
            out["backlog_drain_cpu_s"] = cpu  # CPU seconds each deployment spent while the backlog drained
    finally:
        await asyncio.gather(*(n.stop() for n in nodes.values()))
    out["loadavg"] = list(os.getloadavg())
    out["cpus"] = os.cpu_count()
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--handovers", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--backlog", type=int, default=10000)
    ap.add_argument(
        "--backlog-only", action="store_true", help="skip the hand-over rounds: only the backlog drain"
    )
    ap.add_argument(
        "--retry-base", type=float, default=2.0, help="exchange_retry_base_s (the shipped default)"
    )
    ap.add_argument(
        "--retry-max", type=float, default=300.0, help="exchange_retry_max_s (the shipped default)"
    )
    ap.add_argument(
        "--batch",
        default="20",
        help="messages per request to a peer (0: one per request); several, comma-separated, run one after another",
    )
    ap.add_argument("--out", type=Path, default=RESULTS / "exchange.json")
    a = ap.parse_args()
    runs = []
    for b in [int(x) for x in a.batch.split(",")]:
        one = argparse.Namespace(**{**vars(a), "batch": b})
        runs.append(asyncio.run(main(one)))
        print(json.dumps({k: v for k, v in runs[-1].items() if k != "rounds"}, indent=2), flush=True)
    result = runs[0] if len(runs) == 1 else {"runs": runs}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
