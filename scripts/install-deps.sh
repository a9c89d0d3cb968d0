#!/usr/bin/env bash
# Installs the Debian 12 packages minhbach builds with (as root, or with sudo). Idempotent.
set -euo pipefail
PKGS=(build-essential cmake pkg-config librocksdb-dev capnproto libcapnp-dev libssl-dev libspdlog-dev libfmt-dev
      libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev nlohmann-json3-dev libcpp-httplib-dev
      libcsv-dev xlsx2csv libxlsxwriter-dev
      clang libclang-rt-14-dev)  # clang: the libFuzzer targets (tests/fuzz)
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
