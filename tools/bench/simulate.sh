#!/usr/bin/env bash
# Runs the deterministic fault simulation (tests/simulation_test.cc) over many seeds.
#   bash tools/bench/simulate.sh [FIRST_SEED] [COUNT] [STEPS]      (default 1000 seeds from 100, 60 steps each)
# Stops at the first failing seed and prints how to replay it.
set -uo pipefail
cd "$(dirname "$0")/../.."
FIRST=${1:-100}; COUNT=${2:-1000}; STEPS=${3:-60}
BIN=build/tests/simulation_test
[ -x "$BIN" ] || { echo "build first: bash scripts/build.sh" >&2; exit 2; }
faults=0
for ((s = FIRST; s < FIRST + COUNT; s++)); do
  out=$(MINHBACH_SIM_SEED=$s MINHBACH_SIM_STEPS=$STEPS "$BIN" --gtest_filter='*Faults*' 2>&1)
  if [ $? -ne 0 ]; then
    echo "$out" | tail -30
    echo "FAILED at seed $s: replay with MINHBACH_SIM_SEED=$s MINHBACH_SIM_STEPS=$STEPS $BIN --gtest_filter='*Faults*'" >&2
    exit 1
  fi
  n=$(echo "$out" | sed -n 's/.* \([0-9]*\) faults injected.*/\1/p')
  faults=$((faults + ${n:-0}))
  (( (s - FIRST + 1) % 100 == 0 )) && echo "$((s - FIRST + 1)) seeds passed ($faults faults injected so far)"
done
echo "all $COUNT seeds passed: $faults faults injected in total"
