"""The benchmarks are not tests (speed is measured in bench/, never asserted here); this only checks that
each benchmark script of issue 15 still starts (its --help), so a refactoring cannot silently break it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.parametrize(
    "script",
    ["screenpop_bench.py", "http_bench.py", "sip_load_bench.py", "http_reference.py", "exchange_bench.py", "transfer_bench.py",
     "stt_bench.py", "stt_live_bench.py"],
)
def test_bench_script_starts(script: str) -> None:
    r = subprocess.run(
        [sys.executable, str(BENCH / script), "--help"], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    assert "usage:" in r.stdout
