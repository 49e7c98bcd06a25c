"""The SIP load bench's summary and report (bench/sip_load_bench.py measures; this turns its steps and
holds into the figures the issue asks for and the Markdown written to bench/results/)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

MODE_NAMES = {"static": "static", "raw": "minimal responder", "agi": "AGI"}


def summarise(
    a: argparse.Namespace, steps: list[dict[str, Any]], holds: list[dict[str, Any]], held: dict[str, float],
    top: float, load_before: list[float],
) -> dict[str, Any]:  # fmt: skip
    by_rate: dict[float, dict[str, dict[str, Any]]] = {}
    for s in steps:
        by_rate.setdefault(s["rate"], {})[s["mode"]] = s
    added = []
    for rate, m in sorted(by_rate.items()):
        if "static" not in m or m["static"]["rtd_p99_ms"] is None:
            continue
        row: dict[str, Any] = {"rate": rate}
        for mode, key in (("agi", ""), ("raw", "raw_")):  # raw: the minimal responder (bench/raw_agi.py)
            if mode in m and m[mode]["rtd_p99_ms"] is not None:
                row[f"{key}added_p99_ms"] = round(m[mode]["rtd_p99_ms"] - m["static"]["rtd_p99_ms"], 2)
                row[f"{key}added_p50_ms"] = round(m[mode]["rtd_p50_ms"] - m["static"]["rtd_p50_ms"], 2)
        added.append(row)
    hold_raw = [h for h in holds if h["mode"] == "raw"]
    hold_agi = [h for h in holds if h["mode"] == "agi"]
    hold_static = [h for h in holds if h["mode"] == "static"]
    return {
        "what": "SIPp INVITEs into the sandbox's PJSIP; rtd = INVITE -> 200 OK (answered after routing); "
        "AGI = FastAGI routing step, static = dialplan Goto setting the same variables, minimal responder = "
        "the same AGI step answered by bench/raw_agi.py (fixed variables: the protocol's own cost); 1 s holds",
        "db": a.db,
        "workers": a.workers,
        "asterisk_realtime": a.asterisk_realtime,
        "command": "bench/sip_load_bench.py " + " ".join(sys.argv[1:]),
        "highest_rate_held": held,
        "agi_over_static_rate_held": round(held["agi"] / held["static"], 3) if held.get("static") and "agi" in held else None,
        "goal": "AGI holds >= 90 % of the highest rate the static dialplan holds; adds <= 5 ms at p99 below it",
        "added_latency_by_rate": added,
        "top_rate_holds": {
            "rate": top,
            "seconds": a.hold_s,
            "agi_held": all(h["held"] for h in hold_agi) if hold_agi else None,  # None: not run (--modes)
            "static_held": all(h["held"] for h in hold_static),
            "agi_p99_ms": [h["rtd_p99_ms"] for h in hold_agi],
            "raw_p99_ms": [h["rtd_p99_ms"] for h in hold_raw],
            "static_p99_ms": [h["rtd_p99_ms"] for h in hold_static],
            "agi_fallbacks": sum(h["fallbacks"] for h in hold_agi),
            "agi_sip_failures": sum(h["sip_failures"] for h in hold_agi),
        },
        "loadavg_before": load_before,
        "cpus": os.cpu_count(),
        "steps": steps,
        "holds": holds,
    }


def report(out: dict[str, Any]) -> str:
    lines = [
        "# Call set-up under SIP load: FastAGI routing vs a static dialplan Goto (same run)",
        "",
        f"`{out['command']}` on {out['cpus']} CPUs shared with other jobs (load average before: "
        f"{out['loadavg_before']}); backend on {out['db']}, "
        + (f"{out.get('workers', 1)} HTTP workers with FastAGI in processes of its own."
           if out.get("workers", 1) > 1 else "one process (HTTP, FastAGI and the AMI consumer on one event loop)."),
        "",
        "Highest rate held (zero SIP failures, zero fallbacks): "
        + ", ".join(f"{MODE_NAMES[m]} {r:g}/s" for m, r in out["highest_rate_held"].items())
        + f" (AGI ÷ static {out['agi_over_static_rate_held']}; goal ≥ 0.9).",
        "",
        "| rate/s | mode | ok/calls | SIP failures | fallbacks | rtd p50 ms | rtd p99 ms | backend CPU ms/call | "
        "Asterisk CPU ms/call | responder CPU ms/call | backend kept waiting ms/call | load |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in out["steps"] + out["holds"]:
        tag = " (hold)" if s in out["holds"] else ""
        lines.append(
            f"| {s['rate']:g}{tag} | {s['mode']} | {s['successful']}/{s['calls']} | {s['sip_failures']} | {s['fallbacks']} | "
            f"{s['rtd_p50_ms']} | {s['rtd_p99_ms']} | {s['cpu_ms_per_call'].get('backend')} | "
            f"{s['cpu_ms_per_call'].get('asterisk')} | {s['cpu_ms_per_call'].get('raw', '')} | "
            f"{s.get('cpu_wait_ms_per_call', {}).get('backend')} | "
            f"{s['loadavg'][0]} |"
        )
    lines += ["", "Added latency of the AGI step (AGI minus static at the same rate):", ""]
    for x in out["added_latency_by_rate"]:
        text = f"- {x['rate']:g}/s: AGI p50 {x.get('added_p50_ms')} ms, p99 {x.get('added_p99_ms')} ms"
        if "raw_added_p99_ms" in x:
            text += f"; minimal responder p50 {x['raw_added_p50_ms']} ms, p99 {x['raw_added_p99_ms']} ms"
        lines.append(text)
    h = out["top_rate_holds"]
    agi = (
        f", AGI held {h['agi_held']} (p99 {h['agi_p99_ms']} ms, fallbacks {h['agi_fallbacks']}, "
        f"SIP failures {h['agi_sip_failures']})"
        if h["agi_p99_ms"]
        else " (AGI not run)"
    )
    lines += [
        "",
        f"{h['seconds']} s at {h['rate']:g}/s: static held {h['static_held']} (p99 {h['static_p99_ms']} ms){agi}"
        + (f"; minimal responder p99 {h['raw_p99_ms']} ms." if h.get("raw_p99_ms") else "."),
        "",
        out["what"] + ".",
    ]
    return "\n".join(lines) + "\n"
