#!/usr/bin/env bash
# Import benchmark (docs/performance.md "Import"), in ONE run:
#   1. writes a synthetic statement of ROWS rows (tools/bench/statement_gen, layout LAYOUT);
#   2. imports it into a fresh ledger with `minhbach import statement` (rows/s, peak RSS);
#   3. appends the very same events as JSON Lines (`minhbach log --json` of step 2, turned back into input lines)
#      into another fresh ledger with `minhbach append`: the durable append rate of the same batch;
#   4. prints the ratio import / append (the target is >= 50%).
# Usage: tools/bench/import_bench.sh [BUILD_DIR] [ROWS] [LAYOUT]   (defaults: build, 200000, A)
set -euo pipefail
BUILD=${1:-build}
ROWS=${2:-200000}
LAYOUT=${3:-A}
B="$BUILD/tools/minhbach"
G="$BUILD/tools/bench/statement_gen"
W=$(mktemp -d "${TMPDIR:-/tmp}/minhbach-import-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
FUND='{"type":"fund_opened","idempotency_key":"f","data":{"fund":"F-MTTQ","name":"Quỹ cứu trợ","organisation":"MTTQ","currency":"VND"}}'

measure() {  # measure NAME CMD...: runs CMD under /usr/bin/time -v, prints "NAME seconds rss_kib"
  local name=$1; shift
  /usr/bin/time -v "$@" >"$W/$name.out" 2>"$W/$name.time"
  local wall rss
  wall=$(grep 'Elapsed (wall clock)' "$W/$name.time" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(grep 'Maximum resident set size' "$W/$name.time" | awk '{print $NF}')
  echo "$name $wall $rss"
}

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB"
"$G" --layout "$LAYOUT" --rows "$ROWS" --out "$W/statement.csv"
echo "statement: $(du -h "$W/statement.csv" | cut -f1)"

for l in L1 L2; do
  "$B" --ledger "$W/$l" init --origin bench.example/import >/dev/null 2>&1
  echo "$FUND" | "$B" --ledger "$W/$l" append - >/dev/null
done

read -r _ imp_s imp_rss < <(measure import "$B" --ledger "$W/L1" import statement "$W/statement.csv" --layout "$LAYOUT" --fund F-MTTQ --json)
grep -q '"ok":true' "$W/import.out" || { cat "$W/import.out" "$W/import.time"; exit 1; }
events=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["appended"])' "$W/import.out")

# The same events as JSON Lines input (type, idempotency_key, data of each imported entry).
"$B" --ledger "$W/L1" log --json --from 1 --limit "$events" |
  python3 -c 'import json,sys
for line in sys.stdin:
    e = json.loads(line)["entry"]
    print(json.dumps({"type": e["type"], "idempotency_key": e["idempotency_key"], "data": e["data"]}, ensure_ascii=False))' \
  >"$W/events.jsonl"
read -r _ app_s app_rss < <(measure append "$B" --ledger "$W/L2" append "$W/events.jsonl" --json)
grep -q '"ok":true' "$W/append.out" || { cat "$W/append.out" "$W/append.time"; exit 1; }

python3 - "$ROWS" "$events" "$imp_s" "$imp_rss" "$app_s" "$app_rss" <<'PY'
import sys
rows, events, imp_s, imp_rss, app_s, app_rss = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
print(f"import statement: {rows:,} rows -> {events:,} entries in {imp_s:.2f} s = {rows/imp_s:,.0f} rows/s, peak RSS {imp_rss/1024:.0f} MiB")
print(f"append (same {events:,} events as JSON Lines, one batch): {app_s:.2f} s = {events/app_s:,.0f} events/s, peak RSS {app_rss/1024:.0f} MiB")
print(f"ratio import / durable append: {(rows/imp_s)/(events/app_s):.0%} (target >= 50%)")
PY
