"""Runs Debian's `wrk` (a C load generator) against a loopback URL, so that a server's throughput is
not capped by a Python client sharing the same two cores. Returns None when wrk is not installed."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    if not m:
        return float("nan")
    v, unit = float(m.group(1)), m.group(2)
    return round(v / 1000 if unit == "us" else v * 1000 if unit == "s" else v, 2)


def run_wrk(
    url: str, headers: dict[str, str], seconds: int = 5, connections: int = 16
) -> dict[str, Any] | None:
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError("wrk is only pointed at loopback")
    if shutil.which("wrk") is None:
        return None
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=seconds + 30).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    return {
        "req_per_s": float(rps.group(1)) if rps else None,
        "p50_ms": _ms(lat.get("50", "")),
        "p99_ms": _ms(lat.get("99", "")),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "connections": connections,
        "seconds": seconds,
    }
