"""Survey campaign benchmark (not a test): satisfaction call-backs completed per minute at the configured
outbound limit, while inbound calls keep being answered.

Starts its own sandbox Asterisk (127.0.0.1, free ports; stopped at the end) and the backend in this
process (SQLite). N fed-back cases are surveyed by the real scheduler: Originate of a simulated
citizen (hotline-sim-callee) who answers and presses 1/2/3 after 1 s, the survey FastAGI route reads
it and stores the rating. Meanwhile inbound calls (app.simcall.place_call, Kunming callers) arrive
every --inbound-every s into q-kunming, served by simulated agents (Local-channel members that
answer after 1 s): their hold time to AgentConnect is measured. Concurrency of survey calls is
measured from Asterisk's Hangup events and the attempt rows, independently of the scheduler's count.

    .venv/bin/python bench/survey_bench.py [--surveys 60] [--limit 6] [--agents 3] [--inbound-every 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.cases.models import Case  # noqa: E402
from app.db import utcnow  # noqa: E402
from app.settings import AsteriskServer, Settings  # noqa: E402
from app.simcall import place_call  # noqa: E402
from app.surveys.models import Survey, SurveyAttempt  # noqa: E402
from app.surveys.scheduler import SURVEYS  # noqa: E402
from app.telephony.lifecycle import TELEPHONY  # noqa: E402
from asterisk_conf.sandbox import Sandbox  # noqa: E402
from callflow import load_config  # noqa: E402
from callflow.config import write_always_open  # noqa: E402

RESULTS = REPO / "bench" / "results"


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return round(s[max(0, min(len(s) - 1, round(p / 100 * (len(s) - 1))))], 2)


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    points = sorted(
        [(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals], key=lambda x: (x[0], x[1])
    )
    cur = best = 0
    for _, d in points:
        cur += d
        best = max(best, cur)
    return best


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from app.main import create_app

    tmp = Path(tempfile.mkdtemp(prefix="survey-bench-"))
    sb = Sandbox.on_loopback(replace(load_config(), wrapup_s=0), tmp / "ast", rtp_start=32000, rtp_end=32999)
    ami_port, agi_port, secret = sb.params.ami_port, sb.params.agi_port, sb.params.ami_secret
    sb.start()
    try:
        write_always_open(tmp / "platforms.yaml", wrapup_s=0)
        var = tmp / "var"
        var.mkdir()
        (var / "case_rules.yaml").write_text("sweep_interval_s: 0\n", encoding="utf-8")
        phones = [f"1390{i:07d}" for i in range(args.surveys)]
        rules = {
            "dial": "Local/{number}@hotline-sim-callee/n",
            "call_start": "00:00",
            "call_end": "00:00",
            "tick_s": 0.2,
            "outbound_limit": {"*": args.limit},
            "sim_vars": {p: f"SIM_WAIT=1,SIM_DTMF={1 + i % 3},SIM_HOLD=20" for i, p in enumerate(phones)},
        }
        (var / "survey_rules.yaml").write_text(yaml.safe_dump(rules), encoding="utf-8")
        server = AsteriskServer(ami_port=ami_port, ami_secret=secret, agi_secret=sb.params.agi_secret)
        settings = Settings(
            var_dir=var,
            database_url=f"sqlite+aiosqlite:///{var / 'hotline.db'}",
            agi_port=agi_port,
            asterisk=[server],
            platform_config=tmp / "platforms.yaml",
            session_secret="bench",
            http_port=0,
            ami_ping_interval_s=1.0,
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            return await campaign(app, server, phones, args)
    finally:
        sb.stop()


async def campaign(
    app: Any, server: AsteriskServer, phones: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    rt = app.state.runtime
    tel = rt.require(TELEPHONY)
    conn = tel.connection_for(None)
    hangups: dict[str, float] = {}
    holds: dict[str, float] = {}

    def on_event(_s: str, ev: dict[str, str]) -> None:
        uid = ev.get("Uniqueid", "")
        if ev.get("Event") == "Hangup" and uid.startswith("hl-out-svy-") and uid == ev.get("Linkedid"):
            hangups[uid] = time.time()
        elif ev.get("Event") == "AgentConnect":
            holds[uid] = float(ev.get("HoldTime", "nan"))

    conn.add_listener(on_event)
    members = []
    for i in range(args.agents):  # the Kunming agents also serve the provincial pool (多援一 overflow)
        for queue in ("q-kunming", "q-province"):
            iface = f"Local/{7100 + i}@hotline-sim-agent/n"
            await conn.action(
                {
                    "Action": "QueueAdd",
                    "Queue": queue,
                    "Interface": iface,
                    "StateInterface": f"Custom:simagent-{iface.split('/')[1].split('@')[0]}",
                    "MemberName": f"bench-agent-{i}",
                    "Paused": "false",
                }
            )
            members.append((queue, iface))
    # baseline: inbound alone, then the campaign with inbound running
    stop = asyncio.Event()
    inbound: list[tuple[str, str, str]] = []  # (phase, uniqueid, queue)

    async def caller(phase: str) -> None:
        while not stop.is_set():

            async def one() -> None:
                res = await place_call(server, "13987112345", conn=conn, hangup=False, hold_s=40)
                if res.error is None:
                    inbound.append((phase, res.uniqueid, res.queue or ""))

            asyncio.ensure_future(one())
            try:
                await asyncio.wait_for(stop.wait(), args.inbound_every)
            except TimeoutError:
                pass

    base = asyncio.create_task(caller("baseline"))
    await asyncio.sleep(args.baseline_s)
    stop.set()
    await base
    stop.clear()
    await asyncio.sleep(10)
    inbound_task = asyncio.create_task(caller("campaign"))
    t0 = utcnow()
    async with rt.db.sessionmaker() as s:
        for i, p in enumerate(phones):
            s.add(
                Case(
                    number=f"BENCH-{i:05d}",
                    platform="kunming",
                    channel="phone",
                    type="complaint",
                    summary="bench",
                    citizen_phone=p,
                    status="fed_back",
                    extension_count=0,
                    published=False,
                )
            )
        await s.commit()
    rt.require(SURVEYS).wake.set()
    done_at: datetime | None = None
    deadline = time.monotonic() + args.surveys * 20 / max(1, args.limit) + 120
    while time.monotonic() < deadline:
        async with rt.db.sessionmaker() as s:
            rows = list(await s.scalars(select(Survey)))
        if len(rows) == len(phones) and all(r.status not in ("scheduled", "calling") for r in rows):
            done_at = utcnow()
            break
        await asyncio.sleep(0.5)
    stop.set()
    await inbound_task
    await asyncio.sleep(12)  # the last inbound calls reach an agent
    async with rt.db.sessionmaker() as s:
        surveys = list(await s.scalars(select(Survey)))
        attempts = list(await s.scalars(select(SurveyAttempt)))
        cases = list(await s.scalars(select(Case).where(Case.number.like("BENCH-%"))))
    for queue, iface in members:
        await conn.action({"Action": "QueueRemove", "Queue": queue, "Interface": iface})
    conn.remove_listener(on_event)
    elapsed = ((done_at or utcnow()) - t0).total_seconds()
    rated = [sv for sv in surveys if sv.status == "done"]
    intervals = [
        (a.started_at.timestamp(), hangups.get(a.channel_id, a.started_at.timestamp())) for a in attempts
    ]
    durations = [e - b for b, e in intervals if e > b]
    expected = {f"BENCH-{i:05d}": 1 + i % 3 for i in range(len(phones))}

    def hold_stats(phase: str) -> dict[str, Any]:
        ids = [u for ph, u, _q in inbound if ph == phase]
        hs = [holds[u] for u in ids if u in holds]
        return {
            "calls": len(ids),
            "answered": len(hs),
            "hold_p50_s": pct(hs, 50),
            "hold_p95_s": pct(hs, 95),
            "hold_max_s": max(hs) if hs else None,
            "answered_within_15s": sum(1 for h in hs if h <= 15),
        }

    return {
        "surveys": len(phones),
        "outbound_limit": args.limit,
        "completed": len(rated),
        "ratings_correct": sum(1 for c in cases if c.rating == expected.get(c.number)),
        "reopened_for_3": sum(1 for c in cases if c.status == "reopened"),
        "attempts": len(attempts),
        "elapsed_s": round(elapsed, 1),
        "surveys_per_minute": round(len(rated) / elapsed * 60, 1) if elapsed else None,
        "survey_call_s_p50": pct(durations, 50),
        "max_concurrent_survey_calls": max_overlap(intervals),
        "inbound_agents": args.agents,
        "inbound_every_s": args.inbound_every,
        "inbound_baseline": hold_stats("baseline"),
        "inbound_during_campaign": hold_stats("campaign"),
        "at": utcnow().isoformat(timespec="seconds"),
        **(
            {
                "debug": {
                    "attempts": [
                        (
                            a.channel_id[-6:],
                            a.started_at.timestamp(),
                            a.ended_at.timestamp() if a.ended_at else None,
                            hangups.get(a.channel_id),
                        )
                        for a in attempts
                    ],
                    "inbound": inbound,
                    "holds": holds,
                }
            }
            if args.debug
            else {}
        ),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--surveys", type=int, default=60)
    ap.add_argument("--limit", type=int, default=6)
    ap.add_argument("--agents", type=int, default=3)
    ap.add_argument("--inbound-every", type=float, default=4.0)
    ap.add_argument("--baseline-s", type=float, default=30.0)
    ap.add_argument("--debug", action="store_true")
    args = ap.parse_args()
    out = asyncio.run(run(args))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "survey.json").write_text(json.dumps(out, indent=2, ensure_ascii=False), encoding="utf-8")
    b, c = out["inbound_baseline"], out["inbound_during_campaign"]
    md = f"""# Survey campaign benchmark

`.venv/bin/python bench/survey_bench.py --surveys {out["surveys"]} --limit {out["outbound_limit"]} --agents {args.agents} --inbound-every {args.inbound_every}`
(sandbox Asterisk on 127.0.0.1, backend in-process, SQLite; {out["at"]})

| | |
|---|---|
| surveys completed | {out["completed"]} / {out["surveys"]} ({out["ratings_correct"]} ratings stored as pressed, {out["reopened_for_3"]} 不满意 reopened) |
| call attempts | {out["attempts"]} |
| outbound limit (per platform) | {out["outbound_limit"]} |
| max concurrent survey calls seen (attempt start → Asterisk Hangup) | {out["max_concurrent_survey_calls"]} |
| survey call duration p50 | {out["survey_call_s_p50"]} s |
| elapsed | {out["elapsed_s"]} s |
| **surveys per minute** | **{out["surveys_per_minute"]}** |

Inbound calls from Kunming callers (q-kunming, overflow q-province; {args.agents} simulated agents in both, one call every {args.inbound_every} s), hold time to AgentConnect:

| phase | calls | answered | within 15 s | p50 | p95 | max |
|---|---|---|---|---|---|---|
| inbound only | {b["calls"]} | {b["answered"]} | {b["answered_within_15s"]} | {b["hold_p50_s"]} s | {b["hold_p95_s"]} s | {b["hold_max_s"]} s |
| during the campaign | {c["calls"]} | {c["answered"]} | {c["answered_within_15s"]} | {c["hold_p50_s"]} s | {c["hold_p95_s"]} s | {c["hold_max_s"]} s |

Each survey call: the citizen answers, presses after 1 s (during the intro), the thanks prompt
(~4 s) plays, then the call ends; the rating is stored when the call is over, so the slot is counted
until then. The rate is bounded by the outbound limit × call length (≈ limit × 60 / call seconds).
"""
    (RESULTS / "survey.md").write_text(md, encoding="utf-8")
    print(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
