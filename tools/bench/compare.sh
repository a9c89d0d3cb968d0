#!/usr/bin/env bash
# Side by side, in one go (docs/performance.md "Side by side"):
#   1. append: minhbach vs a raw RocksDB WriteBatch(sync) loop (minhbach-bench, interleaved) vs PostgreSQL 15 on
#      127.0.0.1 with a hash-chained table (a trigger computing sha256(prev_hash || payload)); 1,000-event batches,
#      durable commits, ~200-byte payloads;
#   2. verify: `minhbach verify` vs a PostgreSQL full-chain check query over the same number of events;
#   3. queries: `minhbach balance` / `minhbach child` vs `hledger balance` / `hledger register` on the same
#      transactions (a realistic log written as a journal by journal.py);
#   and the peak memory of each run (/usr/bin/time -v). Installs PostgreSQL and hledger if missing (root), starts
#   PostgreSQL in a scratch folder, stops it after.
#
#   bash tools/bench/compare.sh [EVENTS]      (default 100000)
set -euo pipefail
N=${1:-100000}
cd "$(dirname "$0")/../.."
B=$PWD/build/tools/minhbach
BENCH=$PWD/build/tools/bench/minhbach-bench
RB=$PWD/build/tools/bench/minhbach-readbench
[ -x "$B" ] && [ -x "$BENCH" ] || { echo "build first: bash scripts/build.sh" >&2; exit 2; }
for p in postgresql-15 hledger time; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || NEED="${NEED:-} $p"
done
if [ -n "${NEED:-}" ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $NEED >/dev/null
fi
W=$(mktemp -d /tmp/minhbach-compare.XXXXXX)
chmod 755 "$W"
PG=/usr/lib/postgresql/15/bin
PORT=54329
AS_PG=""
[ "$(id -u)" = 0 ] && AS_PG="runuser -u postgres --"
mkdir -p "$W/pg" && [ -n "$AS_PG" ] && chown postgres "$W/pg"
cleanup() { $AS_PG $PG/pg_ctl -D "$W/pg/data" -m fast stop >/dev/null 2>&1 || true; rm -rf "$W"; }
trap cleanup EXIT
peak() { sed -n 's/.*Maximum resident set size (kbytes): //p' "$1" | awk '{printf "%.0f", $1/1024}'; }
secs() { python3 -c "import sys; print(f'{float(sys.argv[1]):.3f}')" "$1"; }

echo "== 1. append (batches of 1,000, durable)"
/usr/bin/time -v "$BENCH" --dir "$W/bench" --rounds 4 --batches-per-round $((N / 4000 > 0 ? N / 4000 : 1)) --verify-entries "$N" --proofs 10 \
  >"$W/bench.out" 2>"$W/bench.time"
grep -E "^(append|median|verify)" "$W/bench.out" | head -8
MB_APPEND=$(sed -n 's/^append median: raw \([0-9]*\) rec\/s, minhbach \([0-9]*\) ev\/s.*/\2/p' "$W/bench.out")
RAW_APPEND=$(sed -n 's/^append median: raw \([0-9]*\) rec\/s, minhbach \([0-9]*\) ev\/s.*/\1/p' "$W/bench.out")
MB_VERIFY=$(sed -n 's/^verify: .*= \([0-9.]*\) entries\/s/\1/p' "$W/bench.out")

$AS_PG $PG/initdb -D "$W/pg/data" -A trust -U postgres >/dev/null
$AS_PG $PG/pg_ctl -D "$W/pg/data" -o "-p $PORT -k $W/pg -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on" \
  -l "$W/pg/log" start >/dev/null
PSQL="psql -h 127.0.0.1 -p $PORT -U postgres -q -v ON_ERROR_STOP=1"
$PSQL <<'SQL'
CREATE TABLE ledger (seq bigint PRIMARY KEY, payload bytea NOT NULL, prev_hash bytea NOT NULL, hash bytea NOT NULL);
CREATE FUNCTION chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE prev bytea;
BEGIN
  prev := decode(coalesce(nullif(current_setting('chain.last', true), ''), ''), 'hex');
  IF length(prev) = 0 THEN
    SELECT hash INTO prev FROM ledger ORDER BY seq DESC LIMIT 1;
    prev := coalesce(prev, '\x'::bytea);
  END IF;
  NEW.prev_hash := prev;
  NEW.hash := sha256(prev || NEW.payload);
  PERFORM set_config('chain.last', encode(NEW.hash, 'hex'), true);
  RETURN NEW;
END $$;
CREATE TRIGGER chain BEFORE INSERT ON ledger FOR EACH ROW EXECUTE FUNCTION chain();
SQL
python3 - "$N" > "$W/load.sql" <<'PY'
import sys
n = int(sys.argv[1])
for a in range(0, n, 1000):
    b = min(n, a + 1000) - 1
    print("BEGIN;")
    print(f"INSERT INTO ledger(seq, payload) SELECT g, convert_to(rpad('Sponsorship instalment: child C-' || g || ' guardian G-' || md5(g::text), 200, md5(g::text)), 'UTF8') FROM generate_series({a}, {b}) g;")
    print("COMMIT;")
PY
T0=$(date +%s.%N)
/usr/bin/time -v $PSQL -f "$W/load.sql" 2>"$W/pg-load.time"
T1=$(date +%s.%N)
PG_APPEND=$(python3 -c "print(round($N / ($T1 - $T0)))")
T0=$(date +%s.%N)
BAD=$($PSQL -At -c "SELECT count(*) FROM (SELECT hash, sha256(coalesce(lag(hash) OVER (ORDER BY seq), '\x'::bytea) || payload) AS h FROM ledger) t WHERE h <> hash")
T1=$(date +%s.%N)
PG_VERIFY=$(python3 -c "print(round($N / ($T1 - $T0)))")
[ "$BAD" = 0 ] || { echo "PostgreSQL chain check found $BAD bad rows" >&2; exit 1; }

echo "== 3. queries on a realistic log of $N events vs hledger"
"$RB" --dir "$W/rb" --events "$N" --children 2000 --donations-per-month 1500 --lookups 200 --skip audit > "$W/rb.out" 2>/dev/null
L="$W/rb/ledger"
ln -s "$W/rb/projections" "$L/projections" 2>/dev/null || true
"$B" --ledger "$L" log --limit "$N" --json | python3 tools/bench/journal.py > "$W/j.journal"
TXNS=$(grep -c '^[0-9]' "$W/j.journal")
CHILD=C-7
best() {  # best of 3 wall-clock seconds of a command; peak RSS of the last run into $W/last.time
  local best=999999
  for i in 1 2 3; do
    local t0=$(date +%s.%N)
    /usr/bin/time -v "$@" >/dev/null 2>"$W/last.time"
    local t1=$(date +%s.%N)
    best=$(python3 -c "print(min($best, $t1 - $t0))")
  done
  echo "$best"
}
"$B" --ledger "$L" balance >/dev/null  # read models caught up before timing
MB_BAL=$(best "$B" --ledger "$L" balance); MB_BAL_MEM=$(peak "$W/last.time")
MB_CHILD=$(best "$B" --ledger "$L" child "$CHILD"); MB_CHILD_MEM=$(peak "$W/last.time")
HL_BAL=$(best hledger -f "$W/j.journal" balance); HL_BAL_MEM=$(peak "$W/last.time")
HL_REG=$(best hledger -f "$W/j.journal" register "expenses:children:$CHILD\$"); HL_REG_MEM=$(peak "$W/last.time")
CHILD_US=$(sed -n 's/^child history: median \([0-9]*\) us.*/\1/p' "$W/rb.out")

echo
echo "| workload | minhbach | other | ratio | peak RSS (MiB) minhbach / other |"
echo "|---|---|---|---|---|"
echo "| append, events/s (raw RocksDB WriteBatch sync = physical limit) | $MB_APPEND | raw $RAW_APPEND | $(python3 -c "print(f'{$MB_APPEND/$RAW_APPEND*100:.0f}% of raw')") | $(peak "$W/bench.time") / - |"
echo "| append, events/s vs PostgreSQL 15 hash-chained table | $MB_APPEND | $PG_APPEND | $(python3 -c "print(f'{$MB_APPEND/$PG_APPEND:.1f}x')") | $(peak "$W/bench.time") / $(peak "$W/pg-load.time") (psql client) |"
echo "| verify, events/s vs PostgreSQL chain-check query | $MB_VERIFY | $PG_VERIFY | $(python3 -c "print(f'{$MB_VERIFY/$PG_VERIFY:.1f}x')") | - |"
echo "| balance ($TXNS transactions), s per command | $(secs $MB_BAL) | hledger $(secs $HL_BAL) | $(python3 -c "print(f'{$HL_BAL/$MB_BAL:.0f}x')") | $MB_BAL_MEM / $HL_BAL_MEM |"
echo "| one child's history, s per command | $(secs $MB_CHILD) | hledger register $(secs $HL_REG) | $(python3 -c "print(f'{$HL_REG/$MB_CHILD:.0f}x')") | $MB_CHILD_MEM / $HL_REG_MEM |"
echo "| one child's history in process (no process start), median | ${CHILD_US} us | hledger register $(secs $HL_REG) s | $(python3 -c "print(f'{$HL_REG*1e6/max(1,$CHILD_US):.0f}x')") | - |"
