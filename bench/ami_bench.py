"""AMI consumer throughput against panoramisk's own parse of the same bytes, in the same run.

1. record (unless --recording is given): a private sandbox Asterisk, no backend (the dialplan's
   fallback sends callers to q-province), 8 Local-channel agents in q-province; --calls simulated
   calls, 40 in flight, some answered, some abandoned. Every event is saved with the QueueStatus
   taken before the burst: bench/results/ami.recording.jsonl.gz
2. the burst, --repeat times (unique ids suffixed per repetition), is turned into AMI wire text as
   Asterisk sends it (`Key: Value\r\n` lines, a blank line after each message), cut into --chunk
   byte reads (asyncio hands a protocol up to 256 KiB per read; a burst arrives in large reads).
3. --rounds interleaved rounds, the order alternating (reference first in even rounds, consumer first
   in odd ones, so neither side always runs first), each timing:
   - reference: panoramisk's raw parse, the minimum any AMI client does. The library's own entry
     point, AMIProtocol.data_received, is driven with the chunks and a stub factory that only counts
     the events handed to it: decoding, reassembling messages across reads, Message.from_line per
     message and the response lookup of handle_message are the library's, nothing of ours. (Timing
     Message.from_line alone would leave out the buffering and decoding every client pays for.)
   - consumer, the production path from the same chunks: the same data_received, with a panoramisk
     Manager as factory (its dispatch matches the "*" pattern) calling AmiConnection._dispatch
     (message_fields, the event filter: it drops nothing here, the recording was taken through it)
     which feeds AmiConsumer.feed, timed until the consumer has drained into a fresh SQLite database
     (all chunks are fed before the consumer runs, as before).
   Reported: each side's median events/s, consumer/reference (of the medians, and the median of the
   per-round ratios), the load average before and after, and per round that the state and the call
   rows came out right and that the reference saw every event.

    .venv/bin/python bench/ami_bench.py --repeat 20 --rounds 5
writes bench/results/ami.json and ami.txt (--out DIR elsewhere). `events_per_s`, `seconds` and
`subscribed_events_per_s` are the consumer's median round, now from wire bytes (parse included).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import socket
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from panoramisk import Manager  # noqa: E402
from panoramisk.ami_protocol import AMIProtocol  # noqa: E402
from panoramisk.message import Message  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from app.calls.models import Call  # noqa: E402
from app.db import Database  # noqa: E402
from app.events import EventHub  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.settings import AsteriskServer  # noqa: E402
from app.simcall import place_call  # noqa: E402
from app.telephony.ami import AmiConnection, message_fields  # noqa: E402
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


def burst_of(events: list[dict[str, str]], repeat: int) -> list[dict[str, str]]:
    """The recording `repeat` times, its call ids suffixed per repetition so every call is new."""
    return [
        {**ev, **{k: f"{ev[k]}-r{r}" for k in ID_FIELDS if ev.get(k)}} for r in range(repeat) for ev in events
    ]


def wire(events: list[dict[str, str]]) -> bytes:
    """AMI wire text as Asterisk sends it. `content` is not a header: panoramisk adds it to every
    Message (message_fields keeps it), so it is left out here and comes back from the parse."""
    return "".join(
        "".join(f"{k}: {v}\r\n" for k, v in ev.items() if k != "content") + "\r\n" for ev in events
    ).encode(Manager.defaults["encoding"])


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


class _CountingFactory:
    """Stands in for panoramisk's Manager as the protocol's factory: takes each event, does nothing."""

    def __init__(self) -> None:
        self.events = 0
        self.messages: list[Message] | None = None

    def dispatch(self, message: Message) -> None:
        self.events += 1
        if self.messages is not None:
            self.messages.append(message)


def _protocol(factory: object) -> AMIProtocol:
    """An AMIProtocol as Manager.connection_made leaves it (no transport: nothing is sent)."""
    proto = AMIProtocol()
    proto.connection_made(None)
    proto.factory = factory
    proto.encoding = Manager.defaults["encoding"]
    return proto


def parse_reference(chunks: list[bytes]) -> tuple[float, int]:
    """The reference: panoramisk's own parse of the bytes, nothing else. Returns (seconds, events)."""
    factory = _CountingFactory()
    proto = _protocol(factory)
    t0 = time.perf_counter()
    for chunk in chunks:
        proto.data_received(chunk)
    elapsed = time.perf_counter() - t0
    return elapsed, factory.events


def roundtrip_exact(events: list[dict[str, str]]) -> bool:
    """The wire text parses back into exactly the recorded events (outside any timing)."""
    factory = _CountingFactory()
    factory.messages = []
    proto = _protocol(factory)
    proto.data_received(wire(events))
    return [message_fields(m) for m in factory.messages] == events


@dataclass
class Run:
    """One consumer round: its timing and whether the state and the call rows came out right."""

    subscribed_events_processed: int
    seconds: float
    parse_and_feed_seconds: float
    drain_seconds: float
    calls_rows: dict[str, int]
    calls_expected: dict[str, int]
    members_right: bool
    waiting_left: int
    handler_failures: int
    state_right: bool


async def replay(
    status: list[dict[str, str]], events: list[dict[str, str]], repeat: int, chunks: list[bytes]
) -> Run:
    """The production path: `chunks` (the wire text of burst_of(events, repeat)) through panoramisk and
    AmiConnection._dispatch into AmiConsumer.feed, timed until the consumer has drained."""
    with tempfile.TemporaryDirectory(prefix="ami-replay-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'hotline.db'}"
        await asyncio.to_thread(upgrade, url)
        db = Database(url)
        try:
            return await _replay(db, status, events, repeat, chunks)
        finally:
            await db.dispose()


async def _replay(
    db: Database, status: list[dict[str, str]], events: list[dict[str, str]], repeat: int, chunks: list[bytes]
) -> Run:
    cfg = load_config()
    state = TelephonyState()
    state.replace_server("main", status)
    consumer = AmiConsumer(db, EventHub(), state, {q: p.code for p in cfg.platforms for q in p.queues})
    conn = AmiConnection(AsteriskServer(name="main"), on_event=consumer.feed)
    # AmiConnection.start() builds a _GuardedManager and registers _dispatch for "*"; the guard only
    # overrides connecting, so a plain Manager dispatches exactly the same way, without a socket.
    manager = Manager(loop=asyncio.get_running_loop())
    manager.register_event("*", conn._dispatch)
    proto = _protocol(manager)
    fed = repeat * sum(1 for ev in events if ev.get("Event") in SUBSCRIPTIONS)
    consumer.start()
    t0 = time.perf_counter()
    for chunk in chunks:
        proto.data_received(chunk)
    t_fed = time.perf_counter()
    await consumer.drained(timeout=600)
    t_end = time.perf_counter()
    await consumer.stop()
    elapsed = t_end - t0
    outcomes, members = expected(events, status)
    async with db.sessionmaker() as s:
        got = Counter(
            dict((await s.execute(select(Call.outcome, func.count()).group_by(Call.outcome))).all())
        )
    want = Counter({k: v * repeat for k, v in outcomes.items()})
    live = {f"{q.name}/{iface}": m.status for q in state.queues.values() for iface, m in q.members.items()}
    waiting = sum(len(q.waiting) for q in state.queues.values())
    right = got == want and live == members and waiting == 0 and consumer.failed == 0
    return Run(
        subscribed_events_processed=consumer.processed,
        seconds=elapsed,
        parse_and_feed_seconds=t_fed - t0,
        drain_seconds=t_end - t_fed,
        calls_rows=dict(got),
        calls_expected=dict(want),
        members_right=live == members,
        waiting_left=waiting,
        handler_failures=consumer.failed,
        state_right=right and consumer.processed == fed,
    )


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


async def measure(
    status: list[dict[str, str]], events: list[dict[str, str]], repeat: int, rounds: int, chunk: int
) -> dict[str, Any]:
    chunks = chunked(wire(burst_of(events, repeat)), chunk)
    n = len(events) * repeat
    exact = roundtrip_exact(events)
    load_before = loadavg()
    refs: list[tuple[float, int]] = []
    runs: list[Run] = []
    for r in range(rounds):
        for side in ("reference", "consumer") if r % 2 == 0 else ("consumer", "reference"):
            if side == "reference":
                refs.append(parse_reference(chunks))
            else:
                runs.append(await replay(status, events, repeat, chunks))
    load_after = loadavg()
    ref_rate = [n / sec for sec, _ in refs]
    con_rate = [n / x.seconds for x in runs]
    ratios = [c / f for c, f in zip(con_rate, ref_rate, strict=True)]
    con_med, ref_med = statistics.median(con_rate), statistics.median(ref_rate)
    seconds = n / con_med
    last = runs[-1]
    fed = last.subscribed_events_processed
    state_rounds = [x.state_right for x in runs]
    ref_right = all(events_seen == n for _, events_seen in refs)
    return {
        "recorded_events": len(events),
        "repeat": repeat,
        "events_fed": n,
        "subscribed_events_processed": fed,
        "seconds": round(seconds, 3),
        "events_per_s": round(con_med),
        "subscribed_events_per_s": round(fed / seconds),
        "calls_rows": last.calls_rows,
        "calls_expected": last.calls_expected,
        "members_right": all(x.members_right for x in runs),
        "waiting_left": max(x.waiting_left for x in runs),
        "handler_failures": sum(x.handler_failures for x in runs),
        "state_right": all(state_rounds) and ref_right and exact,
        "database": "SQLite (aiosqlite), one transaction per batch of up to 500 events",
        "target_events_per_s": 5000,
        "measured": "consumer: AMI wire bytes -> panoramisk AMIProtocol.data_received -> Manager.dispatch -> "
        "AmiConnection._dispatch -> AmiConsumer.feed, until drained; reference: the same data_received "
        "with a stub factory counting events (panoramisk's raw parse)",
        "rounds": rounds,
        "order": "interleaved, alternating which side goes first",
        "wire_bytes": sum(len(c) for c in chunks),
        "chunk_bytes": chunk,
        "wire_roundtrip_exact": exact,
        "reference_events_parsed_right": ref_right,
        "reference_events_per_s_median": round(ref_med),
        "consumer_events_per_s_median": round(con_med),
        "ratio_consumer_to_reference": round(con_med / ref_med, 3),
        "ratio_median_of_rounds": round(statistics.median(ratios), 3),
        "reference_events_per_s_rounds": [round(x) for x in ref_rate],
        "consumer_events_per_s_rounds": [round(x) for x in con_rate],
        "ratio_rounds": [round(x, 3) for x in ratios],
        "consumer_parse_and_feed_seconds_median": round(statistics.median(x.parse_and_feed_seconds for x in runs), 3),
        "consumer_drain_seconds_median": round(statistics.median(x.drain_seconds for x in runs), 3),
        "state_right_rounds": state_rounds,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "cpus": os.cpu_count(),
    }


def report(out: dict[str, Any]) -> str:
    la = " ".join(map(str, out["load_average_before"]))
    lb = " ".join(map(str, out["load_average_after"]))
    return (
        f"AMI consumer from wire bytes: {out['events_fed']} events ({out['subscribed_events_processed']} handled), "
        f"median of {out['rounds']} interleaved rounds {out['seconds']} s = {out['events_per_s']} events/s "
        f"({out['subscribed_events_per_s']} handled/s); panoramisk's raw parse of the same bytes "
        f"{out['reference_events_per_s_median']} events/s; consumer/reference "
        f"{out['ratio_consumer_to_reference']}x (median of per-round ratios {out['ratio_median_of_rounds']}x, "
        f"rounds {out['ratio_rounds']}); state right: {out['state_right']} "
        f"(calls {out['calls_rows']} vs {out['calls_expected']}); load average before {la}, after {lb} "
        f"on {out['cpus']} CPUs\n"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=120)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=5, help="interleaved reference/consumer rounds")
    ap.add_argument("--chunk", type=int, default=65536, help="bytes per data_received call")
    ap.add_argument("--recording", type=Path, default=RESULTS / "ami.recording.jsonl.gz")
    ap.add_argument("--rerecord", action="store_true")
    ap.add_argument("--out", type=Path, default=RESULTS, help="where ami.json and ami.txt are written")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    if a.rerecord or not a.recording.exists():
        asyncio.run(record(a.calls, a.recording))
    status, events = load(a.recording)
    out = asyncio.run(measure(status, events, a.repeat, a.rounds, a.chunk))
    (a.out / "ami.json").write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    text = report(out)
    (a.out / "ami.txt").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
