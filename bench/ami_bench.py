"""AMI consumer throughput: replay a recorded burst of real Asterisk events into AmiConsumer.feed at full
speed and check the state and the call rows came out right.

1. record (unless --recording is given): a private sandbox Asterisk, no backend (the dialplan's
   fallback sends callers to q-province), 8 Local-channel agents in q-province; --calls simulated
   calls, 40 in flight, some answered, some abandoned. Every event is saved with the QueueStatus
   taken before the burst: bench/results/ami.recording.jsonl.gz
2. replay: the burst is fed --repeat times (unique ids suffixed per repetition) into a fresh SQLite
   database through AmiConsumer.feed, timed until the consumer has drained.

    .venv/bin/python bench/ami_bench.py --calls 120 --repeat 20
writes bench/results/ami.json and ami.txt
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import socket
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select  # noqa: E402

from app.calls.models import Call  # noqa: E402
from app.db import Database  # noqa: E402
from app.events import EventHub  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.settings import AsteriskServer  # noqa: E402
from app.simcall import place_call  # noqa: E402
from app.telephony.ami import AmiConnection  # noqa: E402
from app.telephony.consumer import AmiConsumer  # noqa: E402
from app.telephony.state import MEMBER_STATUS, TelephonyState  # noqa: E402
from app.telephony.subscriptions import SUBSCRIPTIONS  # noqa: E402
from asterisk_conf.render import RenderParams  # noqa: E402
from asterisk_conf.sandbox import Sandbox, free_port  # noqa: E402
from callflow import load_config  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
ID_FIELDS = ("Uniqueid", "Linkedid", "DestUniqueid", "DestLinkedid")


async def record(n: int, path: Path) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="ami-bench-"))
    ami_port = free_port()
    sb = Sandbox(
        replace(load_config(), wrapup_s=0),  # explicit: no enforced wrap-up, members take call after call
        RenderParams(
            base_dir=tmp,
            ami_port=ami_port,
            ami_secret="bench",
            agi_port=free_port(),
            sip_port=free_port(kind=socket.SOCK_DGRAM),
            rtp_start=34000,
            rtp_end=34999,
        ),
    )
    sb.start()
    events: list[dict[str, str]] = []
    conn = AmiConnection(
        AsteriskServer(ami_port=ami_port, ami_secret="bench"), on_event=lambda _s, ev: events.append(ev)
    )
    try:
        await conn.start()
        assert await conn.wait_connected(5)
        for k in range(8):
            await conn.action(
                {
                    "Action": "QueueAdd",
                    "Queue": "q-province",
                    "MemberName": f"agent{k}",
                    "Interface": f"Local/{10 + k}@hotline-sim-agent/n",
                }
            )
        status = await conn.action({"Action": "QueueStatus"}, as_list=True)
        events.clear()
        sem = asyncio.Semaphore(40)

        async def one(i: int) -> None:
            async with sem:
                await place_call(conn.server, f"139871{i:05d}", hangup=False, hold_s=3 + i % 5, conn=conn)

        await asyncio.gather(*(one(i) for i in range(n)))
        await asyncio.sleep(12)  # let every call finish
    finally:
        await conn.close()
        sb.stop()
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(json.dumps({"queue_status": status}) + "\n")
        for ev in events:
            f.write(json.dumps(ev, ensure_ascii=False) + "\n")


def load(path: Path) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        first = json.loads(f.readline())
        return first["queue_status"], [json.loads(line) for line in f]


def expected(
    events: list[dict[str, str]], status: list[dict[str, str]] | None = None
) -> tuple[Counter[str], dict[str, str]]:
    joined = {e["Uniqueid"] for e in events if e.get("Event") == "QueueCallerJoin"}
    connected = {e.get("Uniqueid") for e in events if e.get("Event") == "AgentConnect"}
    outcomes = Counter("completed" if u in connected else "abandoned" for u in joined)
    # routed by the dialplan but hung up before joining a queue (e.g. during the greeting)
    routed = {
        e.get("Uniqueid")
        for e in events
        if e.get("Event") == "UserEvent" and e.get("UserEvent") == "HotlineRoute"
    }
    outcomes["unanswered"] += len(routed - joined)
    members: dict[str, str] = {
        f"{m['Queue']}/{m.get('StateInterface') or m['Location']}": MEMBER_STATUS[m["Status"]]
        for m in status or []
        if m.get("Event") == "QueueMember"
    }
    for e in events:
        if e.get("Event") in ("QueueMemberStatus", "QueueMemberAdded", "QueueMemberPause"):
            members[f"{e['Queue']}/{e.get('StateInterface') or e['Interface']}"] = MEMBER_STATUS[e["Status"]]
    return outcomes, members


async def replay(
    status: list[dict[str, str]], events: list[dict[str, str]], repeat: int
) -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp(prefix="ami-replay-"))
    url = f"sqlite+aiosqlite:///{tmp / 'hotline.db'}"
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    cfg = load_config()
    state = TelephonyState()
    state.replace_server("main", status)
    consumer = AmiConsumer(db, EventHub(), state, {q: p.code for p in cfg.platforms for q in p.queues})
    burst = [
        {**ev, **{k: f"{ev[k]}-r{r}" for k in ID_FIELDS if ev.get(k)}} for r in range(repeat) for ev in events
    ]
    fed = sum(1 for ev in burst if ev.get("Event") in SUBSCRIPTIONS)
    consumer.start()
    t0 = time.perf_counter()
    for ev in burst:
        consumer.feed("main", ev)
    await consumer.drained(timeout=600)
    elapsed = time.perf_counter() - t0
    await consumer.stop()
    outcomes, members = expected(events, status)
    async with db.sessionmaker() as s:
        got = Counter(
            dict((await s.execute(select(Call.outcome, func.count()).group_by(Call.outcome))).all())
        )
    want = Counter({k: v * repeat for k, v in outcomes.items()})
    live = {f"{q.name}/{iface}": m.status for q in state.queues.values() for iface, m in q.members.items()}
    waiting = sum(len(q.waiting) for q in state.queues.values())
    await db.dispose()
    ok = got == want and live == members and waiting == 0 and consumer.failed == 0
    return {
        "recorded_events": len(events),
        "repeat": repeat,
        "events_fed": len(burst),
        "subscribed_events_processed": fed,
        "seconds": round(elapsed, 3),
        "events_per_s": round(len(burst) / elapsed),
        "subscribed_events_per_s": round(fed / elapsed),
        "calls_rows": dict(got),
        "calls_expected": dict(want),
        "members_right": live == members,
        "waiting_left": waiting,
        "handler_failures": consumer.failed,
        "state_right": ok,
        "database": "SQLite (aiosqlite), one transaction per batch of up to 500 events",
        "target_events_per_s": 5000,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=120)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--recording", type=Path, default=RESULTS / "ami.recording.jsonl.gz")
    ap.add_argument("--rerecord", action="store_true")
    a = ap.parse_args()
    RESULTS.mkdir(exist_ok=True)
    if a.rerecord or not a.recording.exists():
        asyncio.run(record(a.calls, a.recording))
    status, events = load(a.recording)
    out = asyncio.run(replay(status, events, a.repeat))
    (RESULTS / "ami.json").write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    text = (
        f"AMI consumer: {out['events_fed']} events ({out['subscribed_events_processed']} handled) in "
        f"{out['seconds']} s = {out['events_per_s']} events/s ({out['subscribed_events_per_s']} handled/s); "
        f"state right: {out['state_right']} (calls {out['calls_rows']} vs {out['calls_expected']})\n"
    )
    (RESULTS / "ami.txt").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
