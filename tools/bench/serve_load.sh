#!/usr/bin/env bash
# Load test of `minhbach serve` on loopback (docs/performance.md "Server"): wrk's readers over a mix of the public
# endpoints plus one writer appending batches through the write API, for a fixed time; then the server is stopped
# with SIGTERM, the log is verified and must hold exactly the acknowledged batches.
#
# usage: tools/bench/serve_load.sh [BINARY] [SECONDS] [CONNECTIONS] [BATCH]
#   defaults: build/tools/minhbach, 20 s, 16 connections (2 wrk threads), 10 events per append (0: no writer)
set -euo pipefail
BIN="$(realpath "${1:-build/tools/minhbach}")"
SECS="${2:-20}"
CONNS="${3:-16}"
BATCH="${4:-10}"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 77; }
command -v curl >/dev/null || { echo "curl is not installed" >&2; exit 77; }
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
L="$WORK/ledger"
"$BIN" --ledger "$L" demo >/dev/null
TOKEN="$("$BIN" --ledger "$L" token add loadtest --fund F-QNG 2>/dev/null)"
SIZE0="$("$BIN" --ledger "$L" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])')"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$BIN" --ledger "$L" serve --listen "127.0.0.1:$PORT" --read-rate 0 --write-rate 0 --json >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVER_PID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/api/v1/log" >/dev/null && break; sleep 0.1; done
URL="http://127.0.0.1:$PORT"

cat >"$WORK/mix.lua" <<'LUA'
-- The public mix: log head, checkpoint, a tile, a child page and its proof, a reference search, an amount search,
-- the fund dashboard, an inclusion proof.
local paths = {
  "/api/v1/log", "/checkpoint", "/tile/0/000", "/api/v1/children/C-CV-01", "/api/v1/children/C-CV-01/proof",
  "/api/v1/search?q=FT22005123456", "/api/v1/search?q=300.000.000", "/api/v1/funds/F-QNG/dashboard",
  "/api/v1/proof/inclusion?seq=2161", "/api/v1/children/C-NQ-0100", "/api/v1/donors/D-MINHPHAT",
}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
LUA

# The writer: one administrator appending BATCH events at a time, as fast as the server acknowledges.
writer() {
  local b=0 ok=0 fail=0
  local end=$(( $(date +%s) + SECS ))
  : >"$WORK/write_times"
  while [ "$(date +%s)" -lt "$end" ]; do
    b=$((b + 1))
    local body=""
    for i in $(seq 1 "$BATCH"); do
      body+="{\"type\":\"donation_received\",\"idempotency_key\":\"load-$b-$i\",\"data\":{\"fund\":\"F-QNG\",\"donor\":\"D-BANK\",\"value_date\":\"2024-09-10\",\"cash\":{\"channel\":\"bank\",\"bank_ref\":\"LOAD$b\",\"amount\":1000}}}"$'\n'
    done
    local out
    out="$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -X POST -H "Authorization: Bearer $TOKEN" \
            --data-binary "$body" "$URL/api/v1/append")"
    if [ "${out%% *}" = 200 ]; then ok=$((ok + 1)); echo "${out#* }" >>"$WORK/write_times"; else fail=$((fail + 1)); fi
  done
  echo "$ok $fail" >"$WORK/writer.result"
}
if [ "$BATCH" -gt 0 ]; then
  writer &
  WRITER_PID=$!
else
  : >"$WORK/write_times"
  echo "0 0" >"$WORK/writer.result"
  WRITER_PID=""
fi
LOAD_BEFORE="$(cut -d' ' -f1 /proc/loadavg)"
wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -s "$WORK/mix.lua" "$URL" >"$WORK/wrk.out"
[ -n "$WRITER_PID" ] && wait "$WRITER_PID"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || { echo "server exited with an error:" >&2; cat "$WORK/serve.err" >&2; exit 1; }
SERVER_PID=""

read -r ACKED FAILED <"$WORK/writer.result"
VERIFY="$("$BIN" --ledger "$L" verify --json)"
SIZE1="$("$BIN" --ledger "$L" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])')"
python3 - "$WORK" "$SIZE0" "$SIZE1" "$ACKED" "$FAILED" "$BATCH" "$SECS" "$CONNS" "$VERIFY" "$LOAD_BEFORE" <<'PY'
import json, re, sys, statistics
work, size0, size1, acked, failed, batch, secs, conns, verify, load = sys.argv[1:]
size0, size1, acked, failed, batch, secs = map(int, (size0, size1, acked, failed, batch, secs))
wrk = open(f"{work}/wrk.out").read()
def ms(v, unit): return float(v) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
lat = {p: ms(v, u) for p, v, u in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s)$", wrk, re.M)}
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", wrk).group(1))
total = int(re.search(r"(\d+) requests in", wrk).group(1))
non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", wrk)) else 0
errors = re.search(r"Socket errors: (.*)", wrk)
w = sorted(float(x) * 1000 for x in open(f"{work}/write_times").read().split())
def pct(v, p): return v[min(len(v) - 1, int(len(v) * p / 100))] if v else float("nan")
ok_verify = json.loads(verify).get("ok", False)
res = {
  "seconds": secs, "connections": int(conns), "load_average_before": float(load),
  "read": {"requests": total, "requests_per_s": rps, "p50_ms": lat.get("50"), "p99_ms": lat.get("99"),
           "non_2xx": non2xx, "socket_errors": errors.group(1) if errors else ""},
  "write": {"appends_acknowledged": acked, "appends_failed": failed, "events_per_append": batch,
            "appends_per_s": acked / secs, "p50_ms": round(pct(w, 50), 1) if w else None,
            "p99_ms": round(pct(w, 99), 1) if w else None},
  "log": {"size_before": size0, "size_after": size1, "expected": size0 + acked * batch, "verify_ok": ok_verify},
}
print(json.dumps(res, indent=2))
bad = non2xx or failed or errors or not ok_verify or size1 != size0 + acked * batch
print("FAILED" if bad else "OK: no failed request, the log verifies and holds exactly the acknowledged appends")
sys.exit(1 if bad else 0)
PY
