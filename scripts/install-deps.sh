#!/usr/bin/env bash
# Installs the Debian 12 packages minhbach builds with (as root, or with sudo). Idempotent.
set -euo pipefail
PKGS=(build-essential cmake pkg-config librocksdb-dev capnproto libcapnp-dev libssl-dev libspdlog-dev libfmt-dev
      libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev nlohmann-json3-dev libcpp-httplib-dev
      libcsv-dev xlsx2csv libxlsxwriter-dev
      clang libclang-rt-14-dev   # clang: the libFuzzer targets (tests/fuzz)
      chromium curl)             # chromium: the portal's browser tests (tests/e2e) and PDF reports; curl: serve_load.sh
PKGS+=(libxml2-utils poppler-utils)  # exports_test: xmllint checks the IATI XML, pdftoppm renders the PDF report
PKGS+=(nginx openssl)  # tests/nginx: serve behind nginx with TLS and a self-signed certificate (docs/deploy.md)
# The browser tests drive Chromium with playwright-core from npm and need Node.js 20+. Debian 12's nodejs is 18: it
# and its npm are installed when there is no node, and tests/e2e/run.sh then fetches a pinned Node.js 20 from the npm
# registry with that npm. A node installed otherwise (e.g. NodeSource's, which brings its own npm) is left alone.
if ! command -v node >/dev/null 2>&1; then
  PKGS+=(nodejs npm)
elif ! command -v npm >/dev/null 2>&1 && dpkg-query -W -f='${Version}' nodejs 2>/dev/null | grep -q dfsg; then
  PKGS+=(npm)  # Debian's own nodejs without its npm
fi
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
if ! command -v npm >/dev/null 2>&1; then
  echo "note: npm is not installed: the portal's browser tests (tests/e2e) may be skipped" >&2
fi
