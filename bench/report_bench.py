"""Report and hot-topic benchmark (not a test).

1. Reports: a throwaway PostgreSQL database (127.0.0.1, dropped at the end) with the app's schema
   (Alembic migrations) and --cases cases and --calls call rows spread evenly over twelve months, made
   by INSERT … SELECT generate_series on the server. The report service (app.reports.service.report,
   the code behind /api/reports) runs for one month, one month by platform, three months and twelve
   months, interleaved, --repeats times each; the figure is the median. Reference, in the same run
   and on the same rows: a bare count(*) of the range's calls and cases (what any report must at
   least read), so the ratio report/reference says what the report itself costs. Each range is timed
   twice: from the raw rows (service.report(raw=True), the code before the rollup) and from the daily
   rollup (docs/adr/report-rollup.md) after it is built for the whole year; also the rebuild of one day
   and of one month (app.reports.rollup.build_day).
2. Hot topics: one day of --texts case texts from tests/hot_corpus.py (scaled up) through
   app.reports.hot.count (segmentation, stop words, phrases, counting); reference: jieba.lcut alone
   over the same texts.

    .venv/bin/python bench/report_bench.py [--cases 1000000] [--calls 10000000] [--texts 50000]

Writes bench/results/report.json and report.md (--name: another name)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import asyncpg  # noqa: E402
from sqlalchemy import delete, func, select  # noqa: E402
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine  # noqa: E402

from app.calls.models import Call  # noqa: E402
from app.cases.models import Case  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.reports import hot, rollup, service  # noqa: E402
from app.reports import queries as qx  # noqa: E402
from app.reports.models import RollupDirty  # noqa: E402
from callflow import load_config  # noqa: E402

RESULTS = REPO / "bench" / "results"
ADMIN = os.environ.get("HOTLINE_BENCH_PG", "postgresql://root@127.0.0.1:5432/test")
FIRST = "2025-12-01"  # twelve months: Dec 2025 … Nov 2026 (Beijing time)
PLATFORMS = [
    "kunming", "qujing", "yuxi", "baoshan", "zhaotong", "lijiang", "puer", "lincang", "chuxiong",
    "honghe", "wenshan", "xishuangbanna", "dali", "dehong", "nujiang", "diqing",
]  # fmt: skip

CALLS_SQL = """
INSERT INTO calls (uniqueid, linkedid, server, direction, caller, platform, queue, outcome, is_test,
                   hold_s, talk_s, arrived_at, queued_at, answered_at, source_hotline)
SELECT 'b' || g, 'b' || g, 'main', 'in', '139' || lpad((g % 100000000)::text, 8, '0'),
       p, 'q-' || p,
       CASE WHEN g % 10 < 8 THEN 'completed' WHEN g % 10 = 8 THEN 'abandoned' ELSE 'completed' END,
       g % 1000 = 0,
       (g * 7) % 60,
       CASE WHEN g % 10 <> 8 THEN 60 + (g * 13) % 600 END,
       t, t,
       CASE WHEN g % 10 <> 8 THEN t + make_interval(secs => (g * 7) % 60) END,
       CASE WHEN g % 7 = 0 THEN '12315' ELSE '12345' END
FROM (SELECT g, $1::text[] AS ps,
             timestamptz '{first} 00:00+08' + (g::float8 / $2) * interval '365 days' AS t
      FROM generate_series(1, $2) g) s,
     LATERAL (SELECT ps[1 + g % array_length(ps, 1)] AS p) pp
"""
CASES_SQL = """
INSERT INTO cases (number, platform, prefecture, channel, type, category_code, summary, detail,
                   citizen_phone, confidential, status, extension_count, rating, published,
                   created_at, updated_at, dispatched_at, replied_at, handle_due, lead_unit)
SELECT 'B-' || g, p, p,
       (ARRAY['phone','phone','phone','web','wechat','sms'])[1 + g % 6],
       'complaint', lpad((1 + g % 8)::text, 2, '0') || '01', '诉求', '',
       '139' || lpad((g % 400000)::text, 8, '0'), false,
       CASE WHEN g % 10 = 0 THEN 'answered_directly' WHEN g % 10 < 7 THEN 'closed' ELSE 'in_progress' END,
       CASE WHEN g % 20 = 0 THEN 1 ELSE 0 END,
       CASE WHEN g % 10 BETWEEN 1 AND 6 THEN 1 + g % 3 END, false,
       t, t,
       CASE WHEN g % 10 <> 0 THEN t + interval '1 hour' END,
       CASE WHEN g % 10 BETWEEN 1 AND 6 THEN t + make_interval(days => g % 9) END,
       CASE WHEN g % 10 <> 0 THEN t + interval '7 days' END,
       CASE WHEN g % 10 <> 0 THEN 'u-' || p || '-' || (g % 30) END
FROM (SELECT g, $1::text[] AS ps,
             timestamptz '{first} 00:00+08' + (g::float8 / $2) * interval '365 days' AS t
      FROM generate_series(1, $2) g) s,
     LATERAL (SELECT ps[1 + g % array_length(ps, 1)] AS p) pp
"""
EVENTS_SQL = """
INSERT INTO case_events (case_id, at, actor_name, actor_role, action, from_status, to_status)
SELECT id, created_at + interval '2 hours', 'u', 'unit', 'return', 'dispatched', 'returned'
FROM cases WHERE id % 25 = 0
"""


async def load(url: str, n_cases: int, n_calls: int) -> dict[str, float]:
    conn = await asyncpg.connect(url)
    try:
        t0 = time.perf_counter()
        await conn.execute(CALLS_SQL.format(first=FIRST), PLATFORMS, n_calls)
        t1 = time.perf_counter()
        await conn.execute(CASES_SQL.format(first=FIRST), PLATFORMS, n_cases)
        await conn.execute(EVENTS_SQL)
        t2 = time.perf_counter()
        await conn.execute("VACUUM ANALYZE")
        t3 = time.perf_counter()
    finally:
        await conn.close()
    return {"calls_s": round(t1 - t0, 1), "cases_s": round(t2 - t1, 1), "vacuum_analyze_s": round(t3 - t2, 1)}


RANGES = {
    "1 month": (date(2026, 10, 1), date(2026, 10, 31), "day", "none"),
    "1 month by platform": (date(2026, 10, 1), date(2026, 10, 31), "total", "platform"),
    "3 months": (date(2026, 8, 1), date(2026, 10, 31), "week", "none"),
    "12 months": (date(2025, 12, 1), date(2026, 11, 30), "month", "none"),
}


class _Rt:
    """The slice of the Runtime the report service reads."""

    def __init__(self) -> None:
        self.config = load_config()


async def build(sm: Any, tz: Any, repeats: int) -> dict[str, Any]:
    """Builds the rollup of the whole year (timed), then times rebuilding one day and one month."""
    out: dict[str, Any] = {}
    async with sm() as s:
        t0 = time.perf_counter()
        d, n = date(2025, 12, 1), 0
        while d <= date(2026, 11, 30):
            n += await rollup.build_day(s, tz, d)
            d += timedelta(days=1)
        await s.execute(delete(RollupDirty))
        await s.commit()
        out["year_build_s"] = round(time.perf_counter() - t0, 2)
        out["rollup_rows"] = n
    days, months = [], []
    for _ in range(repeats):
        async with sm() as s:
            t0 = time.perf_counter()
            await rollup.build_day(s, tz, date(2026, 10, 15))
            await s.commit()
            days.append(time.perf_counter() - t0)
        async with sm() as s:
            t0 = time.perf_counter()
            for i in range(31):
                await rollup.build_day(s, tz, date(2026, 10, 1) + timedelta(days=i))
            await s.commit()
            months.append(time.perf_counter() - t0)
    out["day_rebuild_s_median"] = round(statistics.median(days), 3)
    out["month_rebuild_s_median"] = round(statistics.median(months), 2)
    return out


async def reports(url: str, repeats: int) -> dict[str, Any]:
    engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://"))
    sm = async_sessionmaker(engine, expire_on_commit=False)
    rt: Any = _Rt()
    times: dict[str, list[float]] = {k: [] for k in RANGES}
    raws: dict[str, list[float]] = {k: [] for k in RANGES}
    refs: dict[str, list[float]] = {k: [] for k in RANGES}
    rows: dict[str, dict[str, Any]] = {}
    try:
        built = await build(sm, rt.config.zone, repeats)
        print("rollup", built, flush=True)
        for _ in range(repeats):
            for name, (start, end, period, by) in RANGES.items():
                f = qx.Filters(start, end)
                lo, hi = qx.bounds(f, rt.config.zone)
                async with sm() as s:
                    t0 = time.perf_counter()
                    await s.scalar(select(func.count()).where(Call.arrived_at >= lo, Call.arrived_at < hi))
                    await s.scalar(select(func.count()).where(Case.created_at >= lo, Case.created_at < hi))
                    refs[name].append(time.perf_counter() - t0)
                async with sm() as s:
                    t0 = time.perf_counter()
                    raw = await service.report(rt, s, f, period, by, raw=True)
                    raws[name].append(time.perf_counter() - t0)
                async with sm() as s:
                    t0 = time.perf_counter()
                    rep = await service.report(rt, s, f, period, by)
                    times[name].append(time.perf_counter() - t0)
                assert rep["rows"] == raw["rows"] and rep["total"] == raw["total"], name
                rows[name] = {
                    "offered": rep["total"]["offered"],
                    "cases": rep["total"]["cases"],
                    "rows": len(rep["rows"]),
                }
    finally:
        await engine.dispose()
    out: dict[str, Any] = {"rollup": built}
    for name in RANGES:
        med, ref, rawm = (
            statistics.median(times[name]),
            statistics.median(refs[name]),
            statistics.median(raws[name]),
        )
        out[name] = {
            "report_s_median": round(med, 3),
            "report_s_all": [round(x, 3) for x in times[name]],
            "raw_report_s_median": round(rawm, 3),
            "reference_count_s_median": round(ref, 3),
            "ratio_to_reference": round(med / ref, 2) if ref else None,
            "raw_ratio_to_reference": round(rawm / ref, 2) if ref else None,
            **rows[name],
        }
    return out


def hot_pass(n_texts: int, repeats: int) -> dict[str, Any]:
    from tests.hot_corpus import corpus

    docs = corpus(1, planted=True, seed=99, scale=1.0)
    base = [(d.text, d.prefecture, d.category) for d in docs]
    texts = (base * (n_texts // len(base) + 1))[:n_texts]
    # vary the texts a little so a cache could not help: a serial number in each
    texts = [(f"{t}（编号{i}）", p, c) for i, (t, p, c) in enumerate(texts)]
    jieba: Any = hot._jieba()
    ours, refs = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for t, _p, _c in texts:
            jieba.lcut(t)
        refs.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        counts = hot.count(texts)
        ours.append(time.perf_counter() - t0)
    med, ref = statistics.median(ours), statistics.median(refs)
    return {
        "texts": n_texts,
        "chars": sum(len(t) for t, _, _ in texts),
        "hot_count_s_median": round(med, 2),
        "jieba_lcut_only_s_median": round(ref, 2),
        "ratio_to_reference": round(med / ref, 2),
        "texts_per_s": round(n_texts / med),
        "keys": len(counts),
    }


def write(out: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{out['name']}.json").write_text(
        json.dumps(out, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    lines = [
        "# Reports and hot topics benchmark",
        "",
        f"Run {out['when']} on {out['machine']}; load average before/after: {out['load_before']} / "
        f"{out['load_after']}. Command: `{out['command']}`",
        "",
        f"## Reports on PostgreSQL: {out['cases']:,} cases, {out['calls']:,} call rows over twelve months",
        "",
        f"Load (server-side generate_series): {out['load']}",
        "",
        "Report from the daily rollup (after it is built) and from the raw rows (the code before it), "
        "interleaved, same rows; reference: a bare count(*) of the range's calls and cases.",
        "",
        "| range | rollup report median s | all runs s | raw report median s | reference count(*) median s "
        "| rollup/ref | raw/ref | offered | cases | rows |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in out["reports"].items():
        if name == "rollup":
            continue
        lines.append(
            f"| {name} | {r['report_s_median']} | {r['report_s_all']} | {r['raw_report_s_median']} | "
            f"{r['reference_count_s_median']} | {r['ratio_to_reference']} | {r['raw_ratio_to_reference']} | "
            f"{r['offered']} | {r['cases']} | {r['rows']} |"
        )
    b = out["reports"]["rollup"]
    lines += [
        "",
        f"Rollup build: the whole year {b['year_build_s']} s ({b['rollup_rows']:,} rollup rows); rebuilding one "
        f"day {b['day_rebuild_s_median']} s, one month {b['month_rebuild_s_median']} s (medians).",
    ]
    h = out["hot"]
    lines += ["", "## Hot topics: one day of texts", ""]
    if h is None:
        lines += ["Not run in this run (--texts 0).", ""]
    else:
        lines += [
            f"{h['texts']:,} texts ({h['chars']:,} characters): app.reports.hot.count {h['hot_count_s_median']} s "
            f"(median), jieba.lcut alone {h['jieba_lcut_only_s_median']} s, ratio {h['ratio_to_reference']}, "
            f"{h['texts_per_s']:,} texts/s, {h['keys']:,} (term, prefecture, category) keys.",
            "",
        ]
    (RESULTS / f"{out['name']}.md").write_text("\n".join(lines), encoding="utf-8")


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--calls", type=int, default=10_000_000)
    ap.add_argument("--texts", type=int, default=50_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--name", default="report", help="results file name (bench/results/NAME.md, .json)")
    ap.add_argument("--keep", action="store_true", help="keep the database (its name is printed)")
    a = ap.parse_args()
    out: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {os.cpu_count()} CPUs, {platform.python_version()}",
        "command": " ".join(["bench/report_bench.py", *sys.argv[1:]]),
        "load_before": [round(x, 2) for x in os.getloadavg()],
        "cases": a.cases,
        "calls": a.calls,
        "name": a.name,
    }
    name = f"hotline_report_bench_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = ADMIN.rsplit("/", 1)[0] + "/" + name
    try:
        await asyncio.to_thread(upgrade, url.replace("postgresql://", "postgresql+asyncpg://"))
        out["load"] = await load(url, a.cases, a.calls)
        print("loaded", out["load"], flush=True)
        out["reports"] = await reports(url, a.repeats)
        print(json.dumps(out["reports"], ensure_ascii=False, indent=1), flush=True)
    finally:
        if not a.keep:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            print("kept database", name)
        await admin.close()
    out["hot"] = hot_pass(a.texts, 3) if a.texts else None
    print(out["hot"], flush=True)
    out["load_after"] = [round(x, 2) for x in os.getloadavg()]
    write(out)


if __name__ == "__main__":
    asyncio.run(main())
