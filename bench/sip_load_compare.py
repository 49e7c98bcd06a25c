"""Two sets of interleaved `bench/sip_load_bench.py` runs side by side (before and after a change, run
alternately on the same machine): per rate, the medians over the runs of what the AGI step adds over
the static dialplan at p50 and p99, of the minimal responder's figure (the protocol's floor), of the
backend's and Asterisk's CPU per call, and of the seconds the backend needed to be idle again after
each AGI run. Not a test.

    .venv/bin/python bench/sip_load_compare.py --before 's12_before_run*' --after 's12_main_run*' \
        --out sip_load_s12_compare
writes bench/results/<out>.md
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def _load(pattern: str) -> list[dict[str, Any]]:
    runs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(RESULTS.glob(f"{pattern}.json"))]
    if not runs:
        raise SystemExit(f"no bench/results/{pattern}.json")
    return runs


def _med(xs: list[float]) -> float | str:
    return round(statistics.median(xs), 2) if xs else "-"


def _step(run: dict[str, Any], mode: str, rate: float) -> dict[str, Any] | None:
    return next((s for s in run["steps"] if s["mode"] == mode and s["rate"] == rate), None)


def figures(runs: list[dict[str, Any]], rate: float) -> dict[str, float | str]:
    added99, added50, raw99, backend, asterisk, settled, fallbacks, failures = [], [], [], [], [], [], 0, 0
    for run in runs:
        st, agi, raw = _step(run, "static", rate), _step(run, "agi", rate), _step(run, "raw", rate)
        if st is None or agi is None:
            continue
        added99.append(agi["rtd_p99_ms"] - st["rtd_p99_ms"])
        added50.append(agi["rtd_p50_ms"] - st["rtd_p50_ms"])
        if raw is not None:
            raw99.append(raw["rtd_p99_ms"] - st["rtd_p99_ms"])
        backend.append(agi["cpu_ms_per_call"]["backend"])
        asterisk.append(agi["cpu_ms_per_call"]["asterisk"])
        fallbacks += agi["fallbacks"]
        failures += agi["sip_failures"]
        nxt = [s for s in run["steps"] if s["rate"] > rate] or run.get("holds", [])
        if nxt:
            settled.append(nxt[0]["settled_s"])
    return {
        "AGI adds p50 ms": _med(added50), "AGI adds p99 ms": _med(added99), "responder adds p99 ms": _med(raw99),
        "backend CPU ms/call (AGI)": _med(backend), "Asterisk CPU ms/call (AGI)": _med(asterisk),
        "idle again after, s": _med(settled), "fallbacks": fallbacks, "SIP failures": failures,
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", required=True, help="glob of result names in bench/results (no .json)")
    ap.add_argument("--after", required=True)
    ap.add_argument("--out", default="sip_load_compare")
    a = ap.parse_args()
    sides = {"before": _load(a.before), "after": _load(a.after)}
    rates = sorted({s["rate"] for run in sides["after"] for s in run["steps"]})
    lines = [
        "# Call set-up under SIP load: before and after, interleaved runs",
        "",
        f"`bench/sip_load_compare.py --before '{a.before}' --after '{a.after}'`: medians over "
        f"{len(sides['before'])} and {len(sides['after'])} runs of `{sides['after'][0]['command']}`, run alternately "
        "(before, after, before, ...). Load averages at the start of each run: "
        + "; ".join(f"{k} {[r['loadavg_before'][0] for r in v]}" for k, v in sides.items())
        + ". 'Idle again after' is how long the backend and Asterisk took to fall under 15 % of a CPU after the "
        "AGI run (the work it left behind); fallbacks and SIP failures are sums over the runs.",
        "",
    ]
    for rate in rates:
        rows = {k: figures(v, rate) for k, v in sides.items()}
        names = list(rows["after"])
        lines += [f"## {rate:g} calls/s", "", "| | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        lines += [f"| {k} | " + " | ".join(str(r[n]) for n in names) + " |" for k, r in rows.items()]
        lines.append("")
    out = RESULTS / f"{a.out}.md"
    out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
