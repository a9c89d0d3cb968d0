#!/usr/bin/env bash
# End-to-end test of the minhbach CLI: commands, --json, exit codes (0 ok, 1 tampered, 2 bad input, 3 I/O).
set -u
B="$1"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_rc() { local want=$1; shift; "$@" >"$T/out" 2>"$T/err"; local rc=$?; [ "$rc" = "$want" ] || { cat "$T/out" "$T/err" >&2; fail "exit $rc, wanted $want: $*"; }; }

L="$T/l"
expect_rc 0 "$B" --ledger "$L" init --origin test.example/cli
grep -qE '^test.example/cli\+[0-9a-f]{8}\+' "$T/out" || fail "init did not print the verifier key"
[ "$(stat -c %a "$L/signing.key")" = 600 ] || fail "signing key mode is not 0600"
expect_rc 2 "$B" --ledger "$L" init --origin test.example/cli          # exists already

printf '%s\n' '{"type":"note","idempotency_key":"a","data":{"subject":"s","amount":2000000}}' \
              '{"type":"note","idempotency_key":"b","data":{"subject":"t","amount":1000000}}' > "$T/ok.jsonl"
expect_rc 0 "$B" --ledger "$L" append "$T/ok.jsonl"
grep -q 'seq 0..1' "$T/out" || fail "append did not print the sequence range"
expect_rc 0 "$B" --ledger "$L" append "$T/ok.jsonl" --json
grep -q '"appended":0' "$T/out" || fail "retry appended something"

# Bad input: exit 2, line and field named, nothing appended.
printf '%s\n' '{"type":"note","idempotency_key":"c","data":{"subject":"s","amount":1}}' \
              '{"type":"note","idempotency_key":"d","data":{"subject":"s","amount":1.5}}' > "$T/bad.jsonl"
expect_rc 2 "$B" --ledger "$L" append "$T/bad.jsonl"
grep -q "line 2: field 'data.amount'" "$T/err" || fail "bad line not named: $(cat "$T/err")"
expect_rc 0 "$B" --ledger "$L" status --json
grep -q '"size":2' "$T/out" || fail "a rejected batch changed the log"
expect_rc 2 "$B" --ledger "$L" append "$T/missing.jsonl"
expect_rc 2 "$B" --ledger "$L" bogus-command
expect_rc 2 "$B" --ledger "$T/none" log

expect_rc 0 "$B" --ledger "$L" checkpoint
head -1 "$T/out" | grep -qx 'test.example/cli' || fail "checkpoint origin line"
sed -n 2p "$T/out" | grep -qx '2' || fail "checkpoint size line"
grep -q '^— test.example/cli ' "$T/out" || fail "checkpoint signature line"
expect_rc 0 "$B" --ledger "$L" prove inclusion 1 --json
grep -q '"treeSize": 2' "$T/out" || fail "inclusion proof JSON"
expect_rc 2 "$B" --ledger "$L" prove inclusion 5
expect_rc 0 "$B" --ledger "$L" prove consistency 1 2 --json
expect_rc 0 "$B" --ledger "$L" log --json
[ "$(wc -l < "$T/out")" = 2 ] || fail "log --json should print one line per entry"
expect_rc 0 "$B" --ledger "$L" verify
VKEY=$(cat "$L/verifier.vkey")
expect_rc 0 "$B" --ledger "$L" verify --key "$VKEY"
expect_rc 0 "$B" keygen --name other.example/k --out "$T/k.key"
OTHER=$(cat "$T/out")
expect_rc 1 "$B" --ledger "$L" verify --key "$OTHER"                    # signed by someone else: fails

# Demo on a fresh folder.
expect_rc 0 "$B" --ledger "$T/demo" demo --json
grep -q '"ok":true' "$T/out" || fail "demo did not verify"
expect_rc 2 "$B" --ledger "$T/demo" demo                                  # refuses a non-empty ledger

# Read models: balances and a child's history, --json, unknown ids, rebuild.
expect_rc 0 "$B" --ledger "$T/demo" balance
grep -q 'p:P-NQ68' "$T/out" || fail "balance lacks the Resolution 68 programme"
grep -q '1.710.000.000 ₫' "$T/out" || fail "balance does not group VND amounts"
expect_rc 0 "$B" --ledger "$T/demo" balance --fund F-QNG --json
grep -q '"balance":36000000' "$T/out" || fail "child-restricted balance of C-CV-07 wrong"
expect_rc 2 "$B" --ledger "$T/demo" balance --fund F-NONE
expect_rc 0 "$B" --ledger "$T/demo" child C-HS-0399
grep -q 'reversed by' "$T/out" || fail "child history does not show the reversal"
expect_rc 2 "$B" --ledger "$T/demo" child C-NOBODY
grep -q "not registered" "$T/err" || fail "unknown child message"
expect_rc 0 "$B" --ledger "$T/demo" sponsorships --as-of 2022-06 --arrears
grep -q "24 sponsorships, 23 fully paid, 1 in arrears (2 months, 4.000.000 ₫)" "$T/out" || fail "sponsorship compliance line"
expect_rc 0 "$B" --ledger "$T/demo" sponsorships --child C-CV-24 --as-of 2022-06 --json
grep -q '"missing":\["2022-05","2022-06"\]' "$T/out" || fail "arrears months"
expect_rc 2 "$B" --ledger "$T/demo" sponsorships --as-of 2022-13
expect_rc 0 "$B" --ledger "$T/demo" donor D-MINHPHAT --json
grep -q '"given":300000000' "$T/out" || fail "donor trace total"
grep -q '"kind":"sponsorship_instalment"' "$T/out" || fail "donor trace uses"
expect_rc 2 "$B" --ledger "$T/demo" donor D-NOBODY
expect_rc 0 "$B" --ledger "$T/demo" programme P-NQ68 --json
grep -q '"children_reached":1710' "$T/out" || fail "programme report children"
expect_rc 0 "$B" --ledger "$T/demo" programme
grep -q 'P-COVID' "$T/out" || fail "programme list"
expect_rc 2 "$B" --ledger "$T/demo" programme P-NONE
expect_rc 0 "$B" --ledger "$T/demo" statement --fund F-QNG --from 2022-09-01 --to 2022-09-30 --json
grep -q '"opening":2092500000' "$T/out" || fail "statement opening balance"
grep -q '"closing":2492500000' "$T/out" || fail "statement closing balance"
expect_rc 2 "$B" --ledger "$T/demo" statement --fund F-QNG --from 2022-09-31
expect_rc 2 "$B" --ledger "$T/demo" statement --fund F-NONE
expect_rc 0 "$B" --ledger "$T/demo" find-ref ft22244009999 --json
grep -q '"seq":2151' "$T/out" || fail "find-ref"
expect_rc 0 "$B" --ledger "$T/demo" balance --as-of-seq 2150 --json
grep -q '"entries":2151' "$T/out" || fail "balance --as-of-seq"
expect_rc 2 "$B" --ledger "$T/demo" balance --as-of-seq 99999
expect_rc 0 "$B" --ledger "$T/demo" child C-CV-01 --json
grep -q '"by_year"' "$T/out" || fail "child totals"
expect_rc 0 "$B" --ledger "$T/demo" verify --rebuild-compare --json
grep -q '"read_models_compared"' "$T/out" || fail "verify --rebuild-compare"
expect_rc 0 "$B" --ledger "$T/demo" rebuild --json
grep -q '"entries":4980' "$T/out" || fail "rebuild"

# The inspector's kit: export, offline verify, incremental bundle, child proof, witness and cosignatures.
V="$(dirname "$B")/minhbach-verify"
DK=$(cat "$T/demo/verifier.vkey")
expect_rc 0 "$B" --ledger "$T/demo" export --to "$T/b1" --json
grep -q '"entries":4980' "$T/out" || fail "export"
expect_rc 2 "$B" --ledger "$T/demo" export --to "$T/b1"                  # exists already
# Exports and the printable report (docs/exports.md): from the signed checkpoint, bad input exits 2.
expect_rc 0 "$B" --ledger "$T/demo" export csv --what statement --fund F-QNG --out "$T/st.csv" --json
grep -q '"tree_size":4980' "$T/out" || fail "export csv did not name its checkpoint"
[ "$(head -c 3 "$T/st.csv" | od -An -tx1 | tr -d ' ')" = efbbbf ] || fail "CSV without a UTF-8 BOM"
expect_rc 2 "$B" --ledger "$T/demo" export csv --what donors --fund F-QNG --out "$T/x.csv"
expect_rc 2 "$B" --ledger "$T/demo" export csv --what statement --fund F-NONE --out "$T/x.csv"
expect_rc 0 "$B" --ledger "$T/demo" export iati --fund F-QNG --org-ref VN-GOV-QNG-CSF --out "$T/i.xml"
grep -q '<iati-activities version="2.03"' "$T/i.xml" || fail "IATI root element"
expect_rc 2 "$B" --ledger "$T/demo" export iati --fund F-QNG --out "$T/i.xml"      # --org-ref is required
expect_rc 0 "$B" --ledger "$T/demo" export 360giving --fund F-QNG --org-ref VN-GOV-QNG-CSF --out "$T/g.json"
expect_rc 0 "$B" --ledger "$T/demo" report --fund F-QNG --from 2022-01-01 --to 2026-12-31 --out "$T/r.html"
grep -q '<svg' "$T/r.html" || fail "report without a chart"
expect_rc 2 "$B" --ledger "$T/demo" report --fund F-QNG --from 2022-01-01 --to 2026-12-31 --format doc --out "$T/r.doc"
expect_rc 3 "$B" --ledger "$T/demo" report --fund F-QNG --from 2022-01-01 --to 2026-12-31 --format pdf \
  --chromium /nonexistent/chromium --out "$T/r.pdf"
grep -q 'chromium' "$T/err" || fail "missing chromium not named"
expect_rc 2 "$B" --ledger "$T/demo" export                                        # neither --to nor a format
expect_rc 0 "$V" "$T/b1" --key "$DK"
grep -q 'equal their recomputation' "$T/out" || fail "minhbach-verify did not check the reports"
expect_rc 0 "$V" "$T/b1" --json
grep -q '"log_key_from_bundle":true' "$T/out" || fail "minhbach-verify must say it used the bundle's own key"
expect_rc 1 "$V" "$T/b1" --key "$OTHER"                                   # another key: fails
expect_rc 2 "$V" "$T/nothing" --key "$DK"
printf '%s\n' '{"type":"donation_received","idempotency_key":"cli-x1","data":{"fund":"F-QNG","donor":"D-MINHPHAT","value_date":"2026-11-20","cash":{"channel":"bank","bank_ref":"FT2632400001","amount":5000000}}}' > "$T/more.jsonl"
expect_rc 0 "$B" --ledger "$T/demo" append "$T/more.jsonl"
expect_rc 0 "$B" --ledger "$T/demo" checkpoint
expect_rc 2 "$B" --ledger "$T/demo" export --to "$T/bad" --from-size 17   # not a checkpoint size
expect_rc 0 "$B" --ledger "$T/demo" export --to "$T/b2" --from-size 4980
expect_rc 0 "$V" "$T/b2" --key "$DK" --base "$T/b1" --trusted-checkpoint "$T/b1/checkpoint.note" --json
grep -q '"reports_checked":true' "$T/out" || fail "incremental bundle with --base"
expect_rc 0 "$B" --ledger "$T/demo" prove child C-CV-01 --out "$T/p.json"
expect_rc 0 "$V" --proof "$T/p.json" --key "$DK"
sed -i 's/"seq": 2162/"seq": 2163/' "$T/p.json"
expect_rc 1 "$V" --proof "$T/p.json" --key "$DK"                          # a moved entry fails
expect_rc 2 "$B" --ledger "$T/demo" prove child C-NOBODY
expect_rc 0 "$B" witness init --dir "$T/w" --name inspector.example/w --log-key "$DK"
WK=$(cat "$T/out")
expect_rc 0 "$B" --ledger "$T/demo" witness cosign --dir "$T/w" --out "$T/cos.note"
expect_rc 0 "$B" --ledger "$T/demo" cosignature add "$T/cos.note" --witness "$WK"
expect_rc 0 "$B" --ledger "$T/demo" export --to "$T/b3"
expect_rc 0 "$V" "$T/b3" --key "$DK" --witness "$WK" --min-witnesses 1
expect_rc 1 "$V" "$T/b1" --key "$DK" --witness "$WK" --min-witnesses 1   # the old bundle has no cosignature
expect_rc 0 "$B" witness cosign --dir "$T/w" --bundle "$T/b3" --out "$T/cos2.note"   # same checkpoint, audited in full
# A fork: the same ledger key signs another history of the same size; the witness refuses it.
cp -r "$T/demo" "$T/fork"
expect_rc 0 "$B" --ledger "$T/fork" append "$T/ok.jsonl"
expect_rc 0 "$B" --ledger "$T/fork" checkpoint
expect_rc 0 "$B" --ledger "$T/demo" append "$T/ok.jsonl"
expect_rc 0 "$B" --ledger "$T/demo" checkpoint
expect_rc 0 "$B" --ledger "$T/demo" witness cosign --dir "$T/w"
expect_rc 1 "$B" --ledger "$T/fork" witness cosign --dir "$T/w"
grep -q 'CONFLICT' "$T/err" || fail "witness did not report the conflict"
# serve and tokens: a token is shown once and stored hashed (0600); serve answers on a free port, refuses an append
# without a valid token, takes one with it, refuses it once revoked, and stops cleanly on SIGTERM.
expect_rc 0 "$B" --ledger "$T/demo" token add an --fund F-QNG
TOK=$(cat "$T/out")
case "$TOK" in mbt_*) ;; *) fail "token add did not print a token: $TOK" ;; esac
grep -q -- "$TOK" "$T/demo/tokens.json" && fail "the token itself is stored"
[ "$(stat -c %a "$T/demo/tokens.json")" = 600 ] || fail "tokens.json is not 0600"
expect_rc 2 "$B" --ledger "$T/demo" token add an --fund F-QNG              # the name exists
expect_rc 2 "$B" --ledger "$T/demo" token add 'bad name' --fund F-QNG
expect_rc 0 "$B" --ledger "$T/demo" token list --json
grep -q '"name":"an"' "$T/out" || fail "token list"
expect_rc 2 "$B" --ledger "$T/demo" serve --listen nonsense
"$B" --ledger "$T/demo" serve --listen 127.0.0.1:0 --json >"$T/serve.out" 2>"$T/serve.err" &
SP=$!
for _ in $(seq 1 100); do grep -q '"port"' "$T/serve.out" 2>/dev/null && break; sleep 0.1; done
PORT=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$T/serve.out")
[ -n "$PORT" ] || { cat "$T/serve.err" >&2; fail "serve did not print its port"; }
U="http://127.0.0.1:$PORT"
curl -sf "$U/api/v1/log" | grep -q '"checkpoint_size"' || fail "serve did not answer /api/v1/log"
curl -sf "$U/" | grep -qi '<html' || fail "serve did not answer the portal"
printf '%s\n' '{"type":"donation_received","idempotency_key":"cli-web-1","data":{"fund":"F-QNG","donor":"D-MINHPHAT","value_date":"2026-11-21","cash":{"channel":"bank","bank_ref":"WEB1","amount":1000}}}' > "$T/web.jsonl"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary @"$T/web.jsonl" "$U/api/v1/append")" = 401 ] || fail "append without a token"
curl -s -X POST -H "Authorization: Bearer $TOK" --data-binary @"$T/web.jsonl" "$U/api/v1/append" | grep -q '"appended":1' || fail "append with the token"
expect_rc 0 "$B" --ledger "$T/demo" token revoke an
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $TOK" --data-binary @"$T/web.jsonl" "$U/api/v1/append")" = 401 ] || fail "a revoked token was accepted"
kill -TERM "$SP"
wait "$SP" || { cat "$T/serve.err" >&2; fail "serve did not stop cleanly"; }
expect_rc 0 "$B" --ledger "$T/demo" log --from 0 --limit 1000000 --json
grep -q '"actor":"admin:an"' "$T/out" || fail "the append through the server is not recorded as admin:an"
expect_rc 0 "$B" --ledger "$T/demo" verify

# Personal data (issue 13): a donor's name goes to the vault; a bundle made before the erasure and one made after
# both verify; vault extract opens commitments that minhbach-verify checks, and a flipped byte is named; every read
# of the vault is journaled; erase deletes the bytes and refuses a second time.
P="$T/privacy"
expect_rc 0 "$B" --ledger "$P" init --origin test.example/privacy
cat > "$T/p.jsonl" <<'JSONL'
{"type":"fund_opened","idempotency_key":"f","data":{"fund":"F","name":"Quỹ","organisation":"Sở","currency":"VND"}}
{"type":"donor_registered","idempotency_key":"d","data":{"donor":"D-1","kind":"individual","name":"Lê Thị Hồng Nhung","account":"0071000999888","phone":"0913 456 789"}}
{"type":"donation_received","idempotency_key":"g","data":{"fund":"F","donor":"D-1","value_date":"2024-09-12","cash":{"channel":"bank","bank_ref":"FT9","amount":500000},"details":"CT tu 0071000999888 LE THI HONG NHUNG ung ho"}}
{"type":"note","idempotency_key":"n","public":["memo"],"data":{"subject":"Biên bản","amount":0,"memo":"Kiểm tra quỹ tháng 9"}}
JSONL
expect_rc 0 "$B" --ledger "$P" append "$T/p.jsonl"
echo '{"type":"note","idempotency_key":"n2","public":["memo"],"data":{"subject":"s","amount":0,"memo":"goi 0913 456 789"}}' > "$T/pub.jsonl"
expect_rc 2 "$B" --ledger "$P" append "$T/pub.jsonl"                     # a phone number in a public text
grep -q "field 'data.memo'" "$T/err" || fail "the public-text refusal does not name the field"
expect_rc 0 "$B" --ledger "$P" checkpoint
for needle in "Lê Thị Hồng Nhung" "0071000999888" "0913 456 789"; do
  grep -rqF "$needle" "$P/db" && fail "personal data in the log store: $needle"
done
expect_rc 0 "$B" --ledger "$P" export --to "$T/pb1"
grep -rqF "0071000999888" "$T/pb1" && fail "personal data in a bundle"
expect_rc 2 "$B" --ledger "$P" vault show D-1                            # no reason given
expect_rc 0 "$B" --ledger "$P" vault show D-1 --why "kiểm tra của thanh tra tỉnh"
grep -qF "Lê Thị Hồng Nhung" "$T/out" || fail "vault show"
expect_rc 0 "$B" --ledger "$P" vault extract --subject D-1 --why "thanh tra 2026" --out "$T/extract.json"
[ "$(stat -c %a "$T/extract.json")" = 600 ] || fail "the extract is not 0600"
expect_rc 0 "$V" "$T/pb1" --vault-extract "$T/extract.json"
grep -q 'opened commitments match' "$T/out" || fail "minhbach-verify did not check the extract"
sed 's/LE THI HONG NHUNG/LE THI HONG NHUNH/' "$T/extract.json" > "$T/extract-bad.json"
expect_rc 1 "$V" "$T/pb1" --vault-extract "$T/extract-bad.json"
grep -q 'entry 2' "$T/err" || { cat "$T/err" >&2; fail "a flipped byte in an opened value is not named by its entry"; }
expect_rc 0 "$B" --ledger "$P" journal --json
grep -q '"records":\[{' "$T/out" && grep -q '"what":"vault extract"' "$T/out" || fail "the journal lacks the reads"
expect_rc 0 "$B" --ledger "$P" erase D-1 --reason "Yêu cầu xóa dữ liệu theo Luật 91/2025/QH15"
expect_rc 2 "$B" --ledger "$P" erase D-1 --reason "lần hai"
for needle in "Lê Thị Hồng Nhung" "LE THI HONG NHUNG" "0071000999888" "0913 456 789"; do
  grep -rqF "$needle" "$P" && fail "erased data still in the ledger folder: $needle"
done
expect_rc 0 "$B" --ledger "$P" verify
expect_rc 0 "$B" --ledger "$P" donor D-1 --json
grep -q '"display_name":"erased"' "$T/out" || fail "the donor's view does not say erased"
expect_rc 0 "$B" --ledger "$P" checkpoint
expect_rc 0 "$B" --ledger "$P" export --to "$T/pb2"
expect_rc 0 "$V" "$T/pb1"
expect_rc 0 "$V" "$T/pb2" --trusted-checkpoint "$T/pb1/checkpoint.note"
expect_rc 1 "$V" "$T/pb2" --vault-extract "$T/extract-bad.json"
echo "cli test: 1 passed, 0 failed"
