#!/usr/bin/env bash
# The README's second command: install what is missing, build, and run every test with ctest; then the same
# suite built with AddressSanitizer + UndefinedBehaviorSanitizer, and every libFuzzer target for a short fixed
# time over its corpus. MINHBACH_QUICK=1 runs only the first stage.
#   MINHBACH_FUZZ_SECONDS  seconds per fuzz target (default 10)
#   MINHBACH_CI_BUDGET_MINUTES  the time this script allows itself (default 40; CI stops at 90, a fresh-machine run is kept under 45): a later stage that would not fit in what is left is skipped
#                               with a message (MINHBACH_NO_BUDGET=1 runs every stage whatever the time)
set -euo pipefail
cd "$(dirname "$0")/.."
START=$SECONDS
BUDGET=$(( ${MINHBACH_CI_BUDGET_MINUTES:-40} * 60 ))
# fits NEEDED_SECONDS WHAT: true when WHAT (which takes about NEEDED_SECONDS here) still fits in the budget.
fits() {
  local used=$(( SECONDS - START ))
  if [ "${MINHBACH_NO_BUDGET:-0}" != 1 ] && [ $(( used + $1 )) -gt $(( BUDGET - 120 )) ]; then
    echo "== skipping $2: $(( used / 60 )) min used of ${BUDGET}s, it needs about $(( $1 / 60 )) min more (MINHBACH_NO_BUDGET=1 runs it)"
    return 1
  fi
}
bash scripts/install-deps.sh
# Line tables only (-g1, kept in build/'s CMake cache) keep CI under 30 minutes; a fresh scripts/build.sh gives -g.
bash scripts/build.sh -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG"
(cd build && ctest --output-on-failure -j2 --timeout 900)
[ "${MINHBACH_QUICK:-0}" = 1 ] && exit 0

fits 900 "the ASan + UBSan stage" || exit 0
echo "== ASan + UBSan build of the whole test suite"
# Line tables only (-g1) and no benchmarks: the sanitizer build is the longest step of CI (under 30 minutes in all).
# The browser test (e2e_portal) runs in the first stage only: serve_test covers the server under the sanitizers.
cmake -S . -B build-asan -DMINHBACH_SANITIZE=ON -DMINHBACH_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug \
      -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" -DCMAKE_C_FLAGS_DEBUG="-O0 -g1" >/dev/null
cmake --build build-asan -j2
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
(cd build-asan && MINHBACH_CRASH_KILLS=8 ctest --output-on-failure -j2 --timeout 1200 -E e2e_portal)

fits 200 "the libFuzzer stage" || exit 0
echo "== libFuzzer targets"
bash scripts/fuzz.sh "${MINHBACH_FUZZ_SECONDS:-10}"
