#!/usr/bin/env bash
# Installs the Debian 12 packages minhbach builds with (as root, or with sudo). Idempotent.
set -euo pipefail
PKGS=(build-essential cmake pkg-config librocksdb-dev capnproto libcapnp-dev libssl-dev libspdlog-dev libfmt-dev
      libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev nlohmann-json3-dev libcpp-httplib-dev
      libcsv-dev xlsx2csv libxlsxwriter-dev
      clang libclang-rt-14-dev   # clang: the libFuzzer targets (tests/fuzz)
      chromium curl)             # chromium: the portal's browser tests (tests/e2e) and PDF reports; curl: serve_load.sh
PKGS+=(libxml2-utils poppler-utils)  # exports_test: xmllint checks the IATI XML, pdftoppm renders the PDF report
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "installing: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The browser tests drive Chromium with playwright-core from npm (tests/e2e/run.sh installs it); they need Node.js 20+,
# which Debian 12's own nodejs (18) is not: without it they are reported as skipped.
if ! command -v node >/dev/null 2>&1; then
  echo "note: node is not installed: the portal's browser tests (tests/e2e) will be skipped" >&2
fi
