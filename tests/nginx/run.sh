#!/usr/bin/env bash
# minhbach serve behind Debian's nginx with TLS, as docs/deploy.md describes it.
#
#   tests/nginx/run.sh MINHBACH_BINARY
#
# In a temp dir: a self-signed certificate (openssl), the demo ledger, `minhbach serve` on a free loopback port with
# --trusted-proxy 127.0.0.1, and nginx run as the current user with tests/nginx/site.conf.template on a high port
# (pid, logs and temp files in the temp dir; nothing under /etc or /var). Checks:
#   1. an HTTPS request through nginx is answered by serve (the certificate checked against the one made here);
#   2. the per-address limit applies per client address nginx forwards: one client (source 127.0.0.2) spends its
#      burst and gets 429, another (127.0.0.3) is still served, and a client's forged X-Real-IP / X-Forwarded-For
#      change nothing.
# Installs nothing (scripts/install-deps.sh installs nginx, openssl and curl).
#
# Exit codes: 0 passed, 1 failed, 2 usage, 77 skipped (no nginx, openssl or curl; ctest's SKIP code).

set -euo pipefail

if [[ $# -ne 1 || ! -x "$1" ]]; then
  echo "usage: $0 MINHBACH_BINARY" >&2
  exit 2
fi
bin="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

nginx_bin="$(PATH="$PATH:/usr/sbin:/sbin" command -v nginx || true)"
for tool in openssl curl; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "nginx_proxy: SKIPPED: $tool is not installed (bash scripts/install-deps.sh)" >&2
    exit 77
  fi
done
if [[ -z "$nginx_bin" ]]; then
  echo "nginx_proxy: SKIPPED: nginx is not installed (bash scripts/install-deps.sh, or apt-get install nginx)" >&2
  exit 77
fi

tmp="$(mktemp -d)"
serve_pid=""
nginx_pid=""
cleanup() {
  # Only the two processes started here, by their ids.
  [[ -n "$nginx_pid" ]] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
  [[ -n "$serve_pid" ]] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "nginx_proxy: FAILED: $*" >&2
  for f in "$tmp"/nginx-error.log "$tmp"/serve.err; do [[ -f "$f" ]] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done
  exit 1
}

# A self-signed certificate for localhost and 127.0.0.1.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" >/dev/null 2>&1 || fail "openssl could not make a certificate"

# The demo ledger, then serve on any free port with a small per-address burst (3 requests, then 429).
"$bin" --ledger "$tmp/ledger" demo >/dev/null 2>"$tmp/demo.err" || fail "minhbach demo failed"
"$bin" --ledger "$tmp/ledger" --json serve --listen 127.0.0.1:0 --trusted-proxy 127.0.0.1 \
  --read-rate 0.001 --read-burst 3 >"$tmp/serve.out" 2>"$tmp/serve.err" &
serve_pid=$!
for _ in $(seq 1 100); do
  grep -q '"port"' "$tmp/serve.out" 2>/dev/null && break
  kill -0 "$serve_pid" 2>/dev/null || fail "serve did not start"
  sleep 0.1
done
serve_port="$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$tmp/serve.out" | head -1)"
[[ -n "$serve_port" ]] || fail "serve printed no port"

# nginx on a free high port, as the current user (root in CI: workers then run as root too, so they can write the
# temp dir; as any other user the "user" directive is left out, as nginx wants).
start_nginx() {
  local port="$1" user_line=""
  [[ "$(id -u)" -eq 0 ]] && user_line="user root;"
  sed -e "s|@UPSTREAM@|127.0.0.1:$serve_port|" -e "s|@LISTEN@|127.0.0.1:$port|" -e "s|@SERVER_NAME@|localhost|" \
    -e "s|@CERT@|$tmp/cert.pem|" -e "s|@KEY@|$tmp/key.pem|" "$here/site.conf.template" >"$tmp/site.conf"
  cat >"$tmp/nginx.conf" <<EOF
$user_line
daemon off;
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log info;
events { worker_connections 64; }
http {
    access_log $tmp/nginx-access.log;
    client_body_temp_path $tmp/client_body;
    proxy_temp_path $tmp/proxy;
    fastcgi_temp_path $tmp/fastcgi;
    uwsgi_temp_path $tmp/uwsgi;
    scgi_temp_path $tmp/scgi;
    include $tmp/site.conf;
}
EOF
  "$nginx_bin" -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/nginx-error.log" &
  nginx_pid=$!
  for _ in $(seq 1 50); do
    curl -s -o /dev/null --cacert "$tmp/cert.pem" --resolve "localhost:$port:127.0.0.1" "https://localhost:$port/" \
      2>/dev/null && return 0
    kill -0 "$nginx_pid" 2>/dev/null || { wait "$nginx_pid" 2>/dev/null; nginx_pid=""; return 1; }
    sleep 0.1
  done
  return 1
}
port=""
for _ in 1 2 3 4 5; do
  p=$((20000 + RANDOM % 40000))
  if start_nginx "$p"; then port="$p"; break; fi
done
[[ -n "$port" ]] || fail "nginx did not start (see its log)"
echo "nginx_proxy: nginx on https://localhost:$port/ -> serve on 127.0.0.1:$serve_port" >&2

# get SOURCE [curl options...]: the HTTP status of GET /api/v1/log through nginx, from a loopback source address.
get() {
  local source="$1"
  shift
  curl -s -o "$tmp/body" -w '%{http_code}' --interface "$source" --cacert "$tmp/cert.pem" \
    --resolve "localhost:$port:127.0.0.1" "$@" "https://localhost:$port/api/v1/log"
}

# 1. HTTPS through nginx reaches serve (the answer is serve's JSON; the certificate is verified).
status="$(get 127.0.0.2)"
[[ "$status" == 200 ]] || fail "HTTPS through nginx: status $status"
grep -q '"origin"' "$tmp/body" || fail "the answer through nginx is not serve's: $(head -c 200 "$tmp/body")"

# 2. Client A (127.0.0.2) has used 1 of its burst of 3: two more, then 429, forged headers or not.
for want in 200 200; do
  status="$(get 127.0.0.2)"
  [[ "$status" == "$want" ]] || fail "client A, request within its burst: status $status"
done
status="$(get 127.0.0.2 -H 'X-Real-IP: 198.51.100.7' -H 'X-Forwarded-For: 198.51.100.8')"
[[ "$status" == 429 ]] || fail "client A over its burst, with forged forwarding headers: status $status, wanted 429"
grep -q 'too many requests from 127.0.0.2' "$tmp/body" || fail "the 429 does not name client A: $(cat "$tmp/body")"
# Client B (127.0.0.3), behind the same nginx, has its own bucket.
status="$(get 127.0.0.3)"
[[ "$status" == 200 ]] || fail "client B beside a limited client A: status $status"

echo "nginx_proxy: passed (TLS through nginx; the rate limit follows the forwarded client address)" >&2
