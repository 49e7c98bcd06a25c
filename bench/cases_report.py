"""Writes bench/results/cases.{json,md} for bench/cases_bench.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def write_results(out: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "cases.json").write_text(json.dumps(out, indent=2, ensure_ascii=False), encoding="utf-8")
    lines = [
        "# Case API and 督办 sweep benchmark",
        "",
        f"Run {out['when']} on {out['machine']}.",
        "",
        "## API (one uvicorn worker, httpx client, 16 requests in flight)",
        "",
        "| backend | cases | writes req/s (create+dispatch+sign) | cases/s | GET case req/s | list req/s "
        "| baseline GET /api/auth/me req/s | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in out["api"]:
        lines.append(
            f"| {r['backend']} | {r['cases']} | {r['write_req_per_s']} | {r['cases_per_s']} | "
            f"{r['read_one_req_per_s']} | {r['read_list_req_per_s']} | {r['baseline_auth_me_req_per_s']} "
            f"| {r['errors']} |"
        )
    lines += [
        "",
        "Measured again with `wrk` (a C load generator, 16 connections, 5 s), so the Python client does not",
        "take the CPU the server needs:",
        "",
        "| backend | route | req/s | p50 ms | p99 ms | non-2xx |",
        "|---|---|---|---|---|---|",
    ]
    for r in out["api"]:
        for route, w in (r.get("wrk") or {}).items():
            if w:
                lines.append(
                    f"| {r['backend']} | {route} | {w['req_per_s']} | {w['p50_ms']} | {w['p99_ms']} "
                    f"| {w['non_2xx']} |"
                )
    lines += [
        "",
        "Targets: reads ≥ 1,000 req/s per worker on SQLite; writes ≥ 300 req/s per worker.",
        f"Machine load average at start: {out.get('loadavg')}.",
        "",
    ]
    for s in out.get("sweep", []):
        lines += [
            f"## Sweep over {s['rows']:,} open cases on PostgreSQL ({s['overdue_fraction']:.0%} newly late)",
            "",
            f"- first sweep: **{s['sweep_first_s']} s** — {s['first']}",
            f"- second sweep (idempotent): **{s['sweep_second_s']} s** — {s['second']}",
            f"- outbox rows created: {s['outbox_rows']}; bulk load (COPY + VACUUM ANALYZE): {s['load_s']} s",
            "- target: ≤ 5 s",
            "",
            "Plan of the marking UPDATE:",
            "",
            "```",
            *s["plan"],
            "```",
            "",
        ]
    lines += [
        "## Reading these figures",
        "",
        "- The API targets are **not met** on this machine: 2 vCPUs shared by the server, the load-generating",
        "  client and other engineers' test and benchmark runs (load average above). The baseline column is",
        "  the cheapest authenticated route (token check + one user row): no case route can beat it, and it",
        "  is itself far below 1,000 req/s here, so the gap is mostly per-request framework/driver cost",
        "  (FastAPI + SQLAlchemy async + aiosqlite thread hop), not the case logic.",
        "- GET case = 3 queries (case, co-units, audit log) + the auth query; a write = create (number upsert,",
        "  case, audit row, receipt SMS in the outbox, duplicate lookup) or a transition (row lock, audit",
        "  row, outbox notice), each with a commit.",
        "- The sweep is set-based: marking is one UPDATE on the (status, due_at) index; on PostgreSQL the new",
        "  reminders and their outbox notices are one INSERT … SELECT with a data-modifying CTE; the",
        "  reminder's unique key (case, stage, kind, due) makes it idempotent. The 10 % row is a burst",
        "  (100,000 cases falling late between two sweeps); the scheduler runs every minute.",
        "",
    ]
    (RESULTS / "cases.md").write_text("\n".join(lines), encoding="utf-8")
