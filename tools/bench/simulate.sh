#!/usr/bin/env bash
# Runs the deterministic fault simulation (tests/simulation_test.cc) over many seeds, in memory (tests/sim_fs.h),
# split across JOBS processes (default: the number of cores). Stops at the first failing seed's range and
# prints how to replay it. Ends with one JSON line: seeds, failures, faults injected, wall seconds.
#   bash tools/bench/simulate.sh [FIRST_SEED] [COUNT] [STEPS] [JOBS]   (default 1000 seeds from 100, 60 steps)
set -uo pipefail
cd "$(dirname "$0")/../.."
FIRST=${1:-100}; COUNT=${2:-1000}; STEPS=${3:-60}; JOBS=${4:-$(nproc)}
BIN=build/tests/simulation_test
[ -x "$BIN" ] || { echo "build first: bash scripts/build.sh" >&2; exit 2; }
OUT=$(mktemp -d)
start=$(date +%s.%N)
per=$(( (COUNT + JOBS - 1) / JOBS ))
pids=()
for ((j = 0; j < JOBS; j++)); do
  from=$((FIRST + j * per)); n=$per
  (( from + n > FIRST + COUNT )) && n=$((FIRST + COUNT - from))
  (( n <= 0 )) && continue
  MINHBACH_SIM_SEEDS=$from:$n MINHBACH_SIM_STEPS=$STEPS "$BIN" --gtest_filter='*Faults*' >"$OUT/$j.log" 2>&1 &
  pids+=($!)
  echo "job $j: seeds $from..$((from + n - 1))"
done
failed=0
for j in "${!pids[@]}"; do
  if ! wait "${pids[$j]}"; then
    failed=1
    grep -E "Failure|failed|replay" "$OUT/$j.log" | head -20 >&2
  fi
done
secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
faults=$(cat "$OUT"/*.log | sed -n 's/.*"faults_injected":\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
entries=$(cat "$OUT"/*.log | sed -n 's/.*"entries":\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
refused=$(cat "$OUT"/*.log | sed -n 's/.*"damaged_reads_refused":\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
cat "$OUT"/*.log | grep '^{"simulation"' >&2
rm -rf "$OUT"
echo "{\"bench\":\"simulate\",\"first_seed\":$FIRST,\"seeds\":$COUNT,\"steps\":$STEPS,\"jobs\":$JOBS,\"failed\":$failed,\"faults_injected\":${faults:-0},\"entries\":${entries:-0},\"damaged_reads_refused\":${refused:-0},\"wall_seconds\":$secs}"
exit $failed
