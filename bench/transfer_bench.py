"""Transfer set-up time: from the transferring agent's request (POST /api/agents/me/transfer) to the
receiving agent's phone ringing, on the same Asterisk server and across the IAX2 trunk, in the same
run. Not a test.

Two sandbox Asterisks on 127.0.0.1 joined by the IAX2 trunk (asterisk_conf.sandbox.trunked_pair), the
real backend in this process (uvicorn, AMI to both servers, FastAGI), three real baresip phones: a Dali
agent (li, agent-1001) and a Kunming agent (km, agent-1003) on the prefecture's server, a provincial
agent (wu, agent-1002) on the province's server. Each repeat places a Dali citizen's call (AMI
Originate, FastAGI routes it to q-dali), li answers, and li transfers it blind either to q-kunming (same
server: Redirect, Queue on the same Asterisk) or to q-province (across the trunk: Redirect, Dial
IAX2/province/..., Queue there). The clock stops when this process reads baresip's CALL_INCOMING from
the receiving phone's control socket. The two kinds alternate (ABBA order) so both see the same machine
load; the ratio trunk/same is taken per pair and over the medians. Nobody answers the transferred call:
the caller is hung up once the phone rang (no wrap-up), and the next repeat waits for every phone to be
free.

    .venv/bin/python bench/transfer_bench.py                # 6 repeats of each kind (small default)
    .venv/bin/python bench/transfer_bench.py --repeats 30
writes bench/results/transfer.json and transfer.txt (--out NAME: NAME.json/.txt)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RESULTS = Path(__file__).resolve().parent / "results"
PHONES = {  # user: (server, endpoint, password, platform, queue)
    "li.dali": ("prefecture", "agent-1001", "softphone-pw-1001", "dali", "q-dali"),
    "km.kunming": ("prefecture", "agent-1003", "softphone-pw-1003", "kunming", "q-kunming"),
    "wu.prov": ("province", "agent-1002", "softphone-pw-1002", "province", "q-province"),
}
TARGET = {"same": ("km.kunming", "q-kunming"), "trunk": ("wu.prov", "q-province")}


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def rings(phone: Any, after: float) -> list[float]:
    return [float(e["received_at"]) for e in list(phone.events)
            if e.get("type") == "CALL_INCOMING" and float(e.get("received_at", 0)) > after]  # fmt: skip


async def wait_for(cond: Any, timeout: float, what: str) -> Any:
    from tests.waiting import wait_until

    return await wait_until(cond, timeout, what)


async def run(a: argparse.Namespace) -> dict[str, Any]:
    import httpx
    from sqlalchemy import select

    from app.calls.models import Call
    from app.settings import AsteriskServer
    from app.simcall import place_call
    from app.telephony.lifecycle import TELEPHONY
    from asterisk_conf.render import SipAgent
    from asterisk_conf.sandbox import free_port, trunked_pair
    from bench.backend import loadavg
    from callflow import load_config
    from tests.browser import live_server
    from tests.conftest import add_user, login, make_settings
    from tests.system.softphone import (
        DALI_MOBILE,
        AmiWatch,
        Softphone,
        _free,
        free_sip_port,
        open_all_day_config,
    )

    tmp = Path(tempfile.mkdtemp(prefix="transfer-bench-"))
    cfg = replace(load_config(), wrapup_s=0)  # explicit: no enforced wrap-up, members take call after call
    agi_port = free_port()
    agents: dict[str, list[SipAgent]] = {"prefecture": [], "province": []}
    for server, ep, pw, _, _ in PHONES.values():
        agents[server].append(SipAgent(ep, pw))
    pref, prov = trunked_pair(
        cfg, tmp / "asterisk",
        prefecture={"agi_port": agi_port, "rtp_start": 35000, "rtp_end": 35499, "agents": agents["prefecture"]},
        province={"agi_port": agi_port, "rtp_start": 35500, "rtp_end": 35999, "agents": agents["province"]},
    )  # fmt: skip
    sandboxes = {"prefecture": pref, "province": prov}

    def server(sb: Any, platforms: list[str]) -> AsteriskServer:
        p = sb.params
        return AsteriskServer(name=p.server_name, ami_port=p.ami_port, ami_secret=p.ami_secret,
                              agi_secret=p.agi_secret, platforms=platforms)  # fmt: skip

    settings = make_settings(
        tmp, f"sqlite+aiosqlite:///{tmp / 'bench.db'}", ami_enabled=True, agi_enabled=True, agi_port=agi_port,
        asterisk=[server(pref, [p.code for p in cfg.prefectures]), server(prov, ["province"])],
        ami_ping_interval_s=1.0, platform_config=open_all_day_config(tmp), wrapup_s=0,
    )  # fmt: skip
    samples: dict[str, list[float]] = {"same": [], "trunk": []}
    api_ms: dict[str, list[float]] = {"same": [], "trunk": []}
    pairs: list[float] = []
    load_before = loadavg()
    async with AsyncExitStack() as stack:
        for sb in (pref, prov):
            sb.start()
            stack.callback(sb.stop)
        phones = {}
        for user, (srv, ep, pw, _, _) in PHONES.items():
            sb = sandboxes[srv]
            phone = Softphone(tmp, ep, pw, sb.params.sip_port, local_port=free_sip_port(),
                              ctrl_port=_free(socket.SOCK_STREAM), answer_after=None)  # fmt: skip
            phone.start()
            stack.callback(phone.stop)
            await asyncio.to_thread(phone.wait_registered, sb.cli, 30)
            phones[user] = phone
        app, base = await stack.enter_async_context(live_server(settings))
        rt = app.state.runtime
        state = rt.require(TELEPHONY).state
        ami = await stack.enter_async_context(AmiWatch(SimpleNamespace(server=settings.asterisk[0])))
        client = await stack.enter_async_context(httpx.AsyncClient(base_url=base, timeout=60))
        headers = {}
        for user, (_, ep, _, platform, queue) in PHONES.items():
            await add_user(app, user, "agent", platform=platform, sip_endpoint=ep, display_name=user)
            headers[user] = await login(client, user)
            r = await client.post("/api/agents/me/login", json={"queues": [queue]}, headers=headers[user])
            assert r.status_code == 200, r.text

        def staffed() -> bool:
            by_q = state.agents_by_queue() or {}
            return all(by_q.get(q) == 1 for *_, q in PHONES.values())

        async def phones_free() -> bool:
            out = "".join(await asyncio.gather(*(asyncio.to_thread(sb.cli, "core show channels concise")
                                                 for sb in (pref, prov))))  # fmt: skip
            return not any(ep in out for _, ep, *_ in PHONES.values())

        # li's phone answers the citizen's call itself (a manual-answer phone would ring on transfers too)
        li = phones["li.dali"]

        async def one(kind: str) -> float:
            await wait_for(staffed, 60, "every agent staffed and free")
            await wait_for(phones_free, 60, "every phone free")
            t_call = time.perf_counter()
            call = await place_call(settings.asterisk[0], DALI_MOBILE, hangup=False, hold_s=120)
            assert call.queue == "q-dali", call.to_dict()
            await wait_for(lambda: rings(li, t_call), 30, "li's phone ringing")
            li.command("accept")

            async def answered() -> bool:
                async with rt.db.sessionmaker() as s:
                    c = await s.scalar(select(Call).where(Call.uniqueid == call.uniqueid))
                return c is not None and c.agent == "li.dali" and c.answered_at is not None

            await wait_for(answered, 30, "the call answered by li")
            user, queue = TARGET[kind]
            t0 = time.perf_counter()
            r = await client.post("/api/agents/me/transfer", headers=headers["li.dali"],
                                  json={"kind": "queue", "target": queue, "mode": "blind", "note": "bench"})  # fmt: skip
            api_ms[kind].append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 201, r.text
            t1 = min(await wait_for(lambda: rings(phones[user], t0), 30, f"{user}'s phone ringing"))
            await ami.conn.action({"Action": "Hangup", "Channel": call.channel})
            ms = (t1 - t0) * 1000
            samples[kind].append(ms)
            return ms

        for _ in range(a.warmup):  # not counted: first calls warm caches, the trunk's first IAX2 call
            for kind in ("same", "trunk"):
                await one(kind)
        for xs in (*samples.values(), *api_ms.values()):
            xs.clear()
        for i in range(a.repeats):
            order = ("same", "trunk") if i % 2 == 0 else ("trunk", "same")
            got = {kind: await one(kind) for kind in order}
            pairs.append(got["trunk"] / got["same"])
            print(f"repeat {i + 1}/{a.repeats}: same {got['same']:.0f} ms, trunk {got['trunk']:.0f} ms", flush=True)
        from tests.system.softphone import clear_queues

        await clear_queues(app)
    load_after = loadavg()

    def summary(xs: list[float]) -> dict[str, float]:
        return {"p50_ms": round(statistics.median(xs), 1), "p99_ms": round(pct(xs, 99), 1),
                "min_ms": round(min(xs), 1), "max_ms": round(max(xs), 1), "n": len(xs)}  # fmt: skip

    same, trunk = summary(samples["same"]), summary(samples["trunk"])
    return {
        "what": "blind transfer set-up: POST /api/agents/me/transfer -> baresip CALL_INCOMING on the receiving "
        "agent's phone (read by this process); same = q-dali agent to q-kunming on the same Asterisk, trunk = "
        "to q-province on the other Asterisk over IAX2; both sandboxes, the backend (SQLite) and 3 baresip "
        "phones on 127.0.0.1 (live transcript on, as shipped); ABBA-interleaved repeats",
        "repeats": a.repeats,
        "warmup_pairs": a.warmup,
        "same_server": same,
        "trunk": trunk,
        "transfer_api_ms_p50": {k: round(statistics.median(v), 1) for k, v in api_ms.items()},
        "trunk_over_same_p50": round(trunk["p50_ms"] / same["p50_ms"], 2),
        "trunk_over_same_per_pair_median": round(statistics.median(pairs), 2),
        "samples_ms": {k: [round(x, 1) for x in v] for k, v in samples.items()},
        "loadavg_before": load_before,
        "loadavg_after": load_after,
        "cpus": __import__("os").cpu_count(),
        "command": "bench/transfer_bench.py " + " ".join(sys.argv[1:]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=6, help="transfers of each kind (same server, trunk)")
    ap.add_argument("--warmup", type=int, default=1, help="pairs of transfers not counted")
    ap.add_argument("--out", default="transfer", help="results file name (without extension)")
    a = ap.parse_args()
    out = asyncio.run(run(a))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{a.out}.json").write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    s, t = out["same_server"], out["trunk"]
    text = (
        f"transfer set-up (request -> receiving phone rings), {out['repeats']} repeats each, ABBA-interleaved:\n"
        f"  same server: p50 {s['p50_ms']} ms, p99 {s['p99_ms']} ms (min {s['min_ms']}, max {s['max_ms']})\n"
        f"  across the IAX2 trunk: p50 {t['p50_ms']} ms, p99 {t['p99_ms']} ms (min {t['min_ms']}, max {t['max_ms']})\n"
        f"  trunk / same: {out['trunk_over_same_p50']} (medians), {out['trunk_over_same_per_pair_median']} "
        f"(median of per-pair ratios); transfer API answered in p50 {out['transfer_api_ms_p50']} ms\n"
        f"  load average {out['loadavg_before']} -> {out['loadavg_after']} on {out['cpus']} CPUs\n"
        f"{out['what']}\n{out['command']}\n"
    )
    (RESULTS / f"{a.out}.txt").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
