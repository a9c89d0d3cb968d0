#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan + libFuzzer) in build-fuzz/ and runs each one for
# SECONDS (default 30) over its corpus in tests/fuzz/corpus/<target>/, which keeps the inputs that found new
# coverage. A crash leaves crash-* / leak-* files and exits non-zero.
#   bash scripts/fuzz.sh [SECONDS]
set -euo pipefail
SECONDS_EACH=${1:-30}
cd "$(dirname "$0")/.."
TARGETS="fuzz_jsonl fuzz_entry fuzz_note fuzz_money fuzz_proof"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DMINHBACH_FUZZ=ON -DMINHBACH_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" >/dev/null
cmake --build build-fuzz -j2 --target $TARGETS
mkdir -p build-fuzz/artifacts
for t in $TARGETS; do
  mkdir -p "tests/fuzz/corpus/$t"
  echo "== $t: ${SECONDS_EACH}s over $(ls "tests/fuzz/corpus/$t" | wc -l) corpus inputs"
  "build-fuzz/tests/fuzz/$t" -max_total_time="$SECONDS_EACH" -max_len=20000 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix=build-fuzz/artifacts/ -print_final_stats=1 "tests/fuzz/corpus/$t" 2>&1 \
    | grep -E "^#[0-9]+.*(DONE|pulse)|stat::number_of_executed_units|stat::new_units_added|ERROR|SUMMARY|Test unit written" || true
  # libFuzzer's exit status is lost in the pipe: a crash leaves an artifact.
  if ls build-fuzz/artifacts/crash-* build-fuzz/artifacts/leak-* build-fuzz/artifacts/timeout-* >/dev/null 2>&1; then
    echo "fuzz: $t found a failing input: $(ls build-fuzz/artifacts/)" >&2
    exit 1
  fi
done
# Keep the corpora small: only the inputs that still add coverage (libFuzzer -merge=1).
if [ "${MINHBACH_FUZZ_MINIMIZE:-0}" = 1 ]; then
  for t in $TARGETS; do
    rm -rf "build-fuzz/min-$t" && mkdir -p "build-fuzz/min-$t"
    "build-fuzz/tests/fuzz/$t" -merge=1 -max_len=20000 "build-fuzz/min-$t" "tests/fuzz/corpus/$t" >/dev/null 2>&1
    rm -rf "tests/fuzz/corpus/$t" && mv "build-fuzz/min-$t" "tests/fuzz/corpus/$t"
  done
fi
echo "fuzz: all targets ran ${SECONDS_EACH}s each without a failure"
