"""The benchmarks are not tests (speed is measured in bench/, never asserted here); this only checks that
each benchmark script of issue 15 still starts (its --help), so a refactoring cannot silently break it,
and that the AMI bench's smallest run reports its same-run reference and a right state."""

from __future__ import annotations

import json
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


def test_ami_bench_reports_its_reference_ratio_and_a_right_state(tmp_path: Path) -> None:
    """The smallest run of the AMI bench (one repetition of the recorded burst, one round) into tmp_path:
    the report carries panoramisk's raw parse of the same bytes as the reference, the consumer/reference
    ratio and the load average, and the replay from wire bytes came out right."""
    recording = BENCH / "results" / "ami.recording.jsonl.gz"
    assert recording.exists(), "the committed AMI recording is missing (bench/ami_bench.py --rerecord)"
    r = subprocess.run(
        [sys.executable, str(BENCH / "ami_bench.py"), "--repeat", "1", "--rounds", "1",
         "--recording", str(recording), "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, r.stderr
    out = json.loads((tmp_path / "ami.json").read_text())
    assert out["wire_roundtrip_exact"] is True  # the wire text parses back into the recorded events
    assert out["reference_events_parsed_right"] is True  # the reference saw every event of the burst
    assert out["reference_events_per_s_median"] > 0
    assert out["ratio_consumer_to_reference"] == pytest.approx(
        out["consumer_events_per_s_median"] / out["reference_events_per_s_median"], abs=0.001
    )
    assert out["events_per_s"] == out["consumer_events_per_s_median"]  # the old field, still there
    assert out["state_right"] is True and out["state_right_rounds"] == [True]
    assert out["calls_rows"] == out["calls_expected"] and sum(out["calls_rows"].values()) > 0
    assert len(out["load_average_before"]) == len(out["load_average_after"]) == 3
    assert "panoramisk's raw parse" in (tmp_path / "ami.txt").read_text()
