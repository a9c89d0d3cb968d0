#!/usr/bin/env bash
# The README's first command: install what is missing, build, and run the main job on the embedded default:
# a ledger in ./minhbach-data filled with the built-in demo, signed, verified, summary printed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
LEDGER="${MINHBACH_LEDGER:-./minhbach-data}"
if [ -d "$LEDGER/db" ]; then
  echo "note: $LEDGER already holds a ledger; verifying it (remove the folder for a fresh demo)" >&2
  ./build/tools/minhbach --ledger "$LEDGER" status
  exec ./build/tools/minhbach --ledger "$LEDGER" verify
fi
exec ./build/tools/minhbach --ledger "$LEDGER" demo
