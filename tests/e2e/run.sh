#!/usr/bin/env bash
# End-to-end tests of the transparency portal in headless Chromium.
#
#   tests/e2e/run.sh MINHBACH_BINARY
#
# Creates a fresh demo ledger in a temp dir, starts `MINHBACH_BINARY --ledger DIR serve` on a free port
# of 127.0.0.1, waits for GET /api/v1/log, runs the browser tests (node --test), then stops the server.
# Before the server starts, the verify.js unit tests run against a proof from the same ledger. Screenshots: ${E2E_ARTIFACTS:-$PWD/e2e-artifacts}.
#
# Environment:
#   E2E_ARTIFACTS      where screenshots and the server log go (default: ./e2e-artifacts)
#   E2E_PORTAL_DIR     serve the portal from this folder (--portal-dir) instead of the copy embedded in
#                      the binary, e.g. tools/serve/portal while editing it
#   CHROMIUM           browser binary (default /usr/bin/chromium)
#
# Node.js 20+ runs the tests: the system's node when it is 20 or later, else a pinned Node.js fetched from the npm
# registry into tests/e2e/.node/ (see NODE_PIN below).
#
# Exit codes: 0 passed, 1 failed, 2 usage, 77 skipped (no Chromium, or no node 20+ and none could be fetched, or
# playwright-core could not be installed; ctest's SKIP code).

set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

if [[ $# -ne 1 ]]; then
  echo "usage: $0 MINHBACH_BINARY" >&2
  exit 2
fi
bin="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
if [[ ! -x "$bin" ]]; then
  echo "e2e: $1 is not an executable minhbach binary" >&2
  exit 2
fi

chromium="${CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$chromium" ]]; then
  echo "e2e: SKIPPED: no Chromium at $chromium (apt-get install chromium, or set CHROMIUM)" >&2
  exit 77
fi
# Node.js 20 or later (WebCrypto Ed25519). When the system's node is older (Debian 12's nodejs is 18) or missing, the
# official Node.js binary is fetched once from the npm registry with the system's npm (package node-linux-ARCH at the
# exact version below, checked against the sha512 pinned here) into tests/e2e/.node/ (git-ignored). It runs the tests;
# npm itself keeps running on the system's node (Debian's npm only finds its modules with Debian's node).
NODE_PIN=20.20.2
declare -A NODE_PIN_SHA512=(
  [x64]=sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==
  [arm64]=sha512-LCXJnNTFiyGuYBw2gZSI5OBFMbkjAPt8sqD/NKrWoE2QmDgSubTqFng6GaNJ9EJ8HpxBMGcWWpbbcs4Vo+CnGg==
)
node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
# fetch_node DIR ARCH: puts the pinned node in DIR/bin/node; false, with the reason on stderr, when it cannot.
fetch_node() {
  local dir="$1" arch="$2" want="${NODE_PIN_SHA512[$2]:-}" tmp tgz got
  if [[ -z "$want" ]]; then echo "e2e: no pinned Node.js binary for $(uname -m)" >&2; return 1; fi
  if ! command -v npm >/dev/null 2>&1; then echo "e2e: npm is not installed" >&2; return 1; fi
  mkdir -p "$(dirname "$dir")"
  tmp="$(mktemp -d "$(dirname "$dir")/fetch.XXXXXX")"
  echo "e2e: fetching Node.js $NODE_PIN from the npm registry (node-linux-$arch@$NODE_PIN, about 43 MB)" >&2
  tgz="$tmp/node-linux-$arch-$NODE_PIN.tgz"
  # npm checks the tarball against the registry's integrity; then it must also match the sha512 pinned above.
  if ! (cd "$tmp" && npm pack "node-linux-$arch@$NODE_PIN" --pack-destination "$tmp" --prefer-offline \
          --no-audit --no-fund --loglevel=error >/dev/null) || [[ ! -f "$tgz" ]]; then
    echo "e2e: npm pack node-linux-$arch@$NODE_PIN failed (offline?)" >&2; rm -rf "$tmp"; return 1
  fi
  got="sha512-$(node -e 'process.stdout.write(require("crypto").createHash("sha512").update(require("fs").readFileSync(process.argv[1])).digest("base64"))' "$tgz")"
  if [[ "$got" != "$want" ]]; then  # not a skip: the registry now serves other bytes under the pinned version
    echo "e2e: FAILED: node-linux-$arch@$NODE_PIN from the npm registry has $got, not the pinned $want" >&2
    rm -rf "$tmp"; exit 1
  fi
  mkdir -p "$tmp/out/bin"
  if ! tar -xzf "$tgz" -C "$tmp" package/bin/node package/LICENSE \
      || ! mv "$tmp/package/bin/node" "$tmp/out/bin/" || ! mv "$tmp/package/LICENSE" "$tmp/out/" \
      || [[ "$("$tmp/out/bin/node" --version 2>&1)" != "v$NODE_PIN" ]]; then
    echo "e2e: the fetched node does not run here: $("$tmp/out/bin/node" --version 2>&1 | head -1)" >&2; rm -rf "$tmp"; return 1
  fi
  mv -T "$tmp/out" "$dir" 2>/dev/null || true  # fails only when another run has put it there first
  rm -rf "$tmp"
  [[ -x "$dir/bin/node" ]]
}
node=""
if command -v node >/dev/null 2>&1 && (( $(node_major node) >= 20 )); then
  node="$(command -v node)"
else
  if command -v node >/dev/null 2>&1; then why="the system's node $(node --version) is older than 20"
  else why="node is not installed"; fi
  case "$(uname -m)" in x86_64) arch=x64 ;; aarch64 | arm64) arch=arm64 ;; *) arch="$(uname -m)" ;; esac
  node_dir="$here/.node/node-v$NODE_PIN-linux-$arch"
  if [[ -x "$node_dir/bin/node" ]] || fetch_node "$node_dir" "$arch"; then
    node="$node_dir/bin/node"
    echo "e2e: $why: using $node ($("$node" --version))" >&2
  else
    echo "e2e: SKIPPED: $why, and Node.js $NODE_PIN could not be fetched from the npm registry" \
         "(bash scripts/install-deps.sh installs Debian's nodejs and npm; Node.js 20 or later is needed for WebCrypto Ed25519)" >&2
    exit 77
  fi
fi
if (( $(node_major "$node") < 20 )); then
  echo "e2e: SKIPPED: $node is $("$node" --version 2>&1) (20 or later is needed for WebCrypto Ed25519)" >&2
  exit 77
fi

if [[ ! -d "$here/node_modules/playwright-core" ]]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "e2e: SKIPPED: npm is not installed and tests/e2e/node_modules is missing" >&2
    exit 77
  fi
  echo "e2e: installing playwright-core (npm ci; no browser is downloaded)" >&2
  if ! (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefer-offline --no-audit --no-fund --loglevel=error); then
    echo "e2e: SKIPPED: npm ci failed (offline and nothing in the npm cache?)" >&2
    exit 77
  fi
fi

artifacts="${E2E_ARTIFACTS:-$PWD/e2e-artifacts}"
mkdir -p "$artifacts"
artifacts="$(cd "$artifacts" && pwd)"

work="$(mktemp -d "${TMPDIR:-/tmp}/minhbach-e2e.XXXXXX")"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

ledger="$work/ledger"
echo "e2e: creating a demo ledger in $ledger" >&2
"$bin" --ledger "$ledger" demo >"$work/demo.log" 2>&1 || { cat "$work/demo.log" >&2; echo "e2e: demo failed" >&2; exit 1; }

# A witness cosigns the demo's checkpoint, so that the dashboard and the proofs carry a cosignature line.
witness_vkey=""
if "$bin" witness init --dir "$work/witness" --name e2e.witness.example/w1 --log-key "$ledger/verifier.vkey" >"$work/witness.log" 2>&1 \
  && "$bin" --ledger "$ledger" witness cosign --dir "$work/witness" --out "$work/cosignature.note" >>"$work/witness.log" 2>&1 \
  && "$bin" --ledger "$ledger" cosignature add "$work/cosignature.note" --witness "$work/witness/witness.vkey" >>"$work/witness.log" 2>&1; then
  witness_vkey="$work/witness/witness.vkey"
else
  echo "e2e: note: could not add a witness cosignature, continuing without one:" >&2
  cat "$work/witness.log" >&2
fi

# The verify.js unit tests first: they read the ledger with the CLI, which the server would hold locked.
status=0
(
  cd "$here"
  MINHBACH_BIN="$bin" MINHBACH_LEDGER_DIR="$ledger" MINHBACH_WITNESS_VKEY="$witness_vkey" "$node" --test verify.test.mjs
) || status=$?

# A free port: bind port 0 and read what the kernel gave (a tiny race with other processes is accepted).
port="$("$node" -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});')"
base="http://127.0.0.1:$port"

serve_args=(--ledger "$ledger" serve --listen "127.0.0.1:$port")
if [[ -n "${E2E_PORTAL_DIR:-}" ]]; then
  serve_args+=(--portal-dir "$(cd "$E2E_PORTAL_DIR" && pwd)")
fi
echo "e2e: starting $bin ${serve_args[*]}" >&2
"$bin" "${serve_args[@]}" >"$artifacts/server.log" 2>&1 &
server_pid=$!

ready=""
for _ in $(seq 1 150); do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "e2e: the server exited; its log:" >&2
    cat "$artifacts/server.log" >&2
    server_pid=""
    exit 1
  fi
  if "$node" -e 'fetch(process.argv[1]).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))' "$base/api/v1/log" 2>/dev/null; then
    ready=1
    break
  fi
  sleep 0.2
done
if [[ -z "$ready" ]]; then
  echo "e2e: the server did not answer $base/api/v1/log within 30 s; its log:" >&2
  cat "$artifacts/server.log" >&2
  exit 1
fi
echo "e2e: server ready at $base" >&2

(
  cd "$here"
  BASE_URL="$base" E2E_ARTIFACTS="$artifacts" CHROMIUM="$chromium" E2E_EXPECT_WITNESS="${witness_vkey:+1}" \
    "$node" --test portal.test.mjs
) || status=$?

echo "e2e: screenshots in $artifacts" >&2
if [[ $status -ne 0 ]]; then
  echo "e2e: FAILED (server log: $artifacts/server.log)" >&2
  exit 1
fi
echo "e2e: passed" >&2
