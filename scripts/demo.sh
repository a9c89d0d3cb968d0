#!/usr/bin/env bash
# The README's first command: install what is missing, build, fill a ledger in ./minhbach-data with the built-in demo
# (or verify the one already there), then serve the API and the public portal on it and print the portal's address.
#   MINHBACH_LEDGER  ledger folder (default ./minhbach-data)
#   MINHBACH_LISTEN  address to serve on (default 127.0.0.1:8080)
#   MINHBACH_NO_SERVE=1  stop after the demo and its verification
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
LEDGER="${MINHBACH_LEDGER:-./minhbach-data}"
B=./build/tools/minhbach
if [ -d "$LEDGER/db" ]; then
  echo "note: $LEDGER already holds a ledger; verifying it (remove the folder for a fresh demo)" >&2
  "$B" --ledger "$LEDGER" status
  "$B" --ledger "$LEDGER" verify
else
  "$B" --ledger "$LEDGER" demo
fi
[ "${MINHBACH_NO_SERVE:-0}" = 1 ] && exit 0
echo
exec "$B" --ledger "$LEDGER" serve --listen "${MINHBACH_LISTEN:-127.0.0.1:8080}"
