#!/usr/bin/env bash
# Runs the whole test suite N times in a row (default 5) with a nice'd CPU hog beside it, to find
# tests that go red without a defect. Prints, per run, the wall time and pytest's summary line, and
# at the end how many runs passed; logs in test-artifacts/repeat/. Exits non-zero if any run failed.
#   scripts/repeat-suite.sh [N] [pytest args...]
# The hog is one busy loop per CPU at nice 19 (HOGS=n to choose; HOGS=0 when the machine is loaded
# already, e.g. shared with other developers' test runs), started and stopped by its own PID.
# Strict like CI: --require-all (a missing real part fails), in PYTEST_WORKERS processes (2) as `make test`.
set -u
cd "$(dirname "$0")/.."
n=${1:-5}
shift || true
py=.venv/bin/python
out=test-artifacts/repeat
mkdir -p "$out"
hogs=()
nhogs=${HOGS:-$(nproc)}
for _ in $(seq 1 "$nhogs"); do
  nice -n 19 "$py" -c 'while True: pass' &
  hogs+=($!)
done
cleanup() { for p in "${hogs[@]}"; do kill "$p" 2>/dev/null; done; }
trap cleanup EXIT
passed=0
for i in $(seq 1 "$n"); do
  start=$(date +%s)
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  "$py" -m pytest -q -p no:cacheprovider --require-all -n "${PYTEST_WORKERS:-2}" --dist loadfile "$@" >"$out/run-$i.log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  summary=$(grep -E '^(=+ )?[0-9]+ (passed|failed)|[0-9]+ (passed|failed).* in ' "$out/run-$i.log" | tail -n 1)
  [ "$rc" -eq 0 ] && passed=$((passed + 1))
  echo "run $i/$n: rc=$rc wall=${secs}s load-at-start=[$load] $summary" | tee -a "$out/summary.txt"
  grep -E '^(FAILED|ERROR) ' "$out/run-$i.log" | tee -a "$out/summary.txt"
done
echo "passed $passed of $n runs (hog: $nhogs nice'd busy loops; machine shared)" | tee -a "$out/summary.txt"
[ "$passed" -eq "$n" ]
