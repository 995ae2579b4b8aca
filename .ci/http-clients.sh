#!/usr/bin/env bash
# Lesson 11's server against clients nobody here wrote: curl, Python's
# requests and aiohttp, and a wrk load run. Installs what a fresh machine
# lacks; starts and stops the server itself; fails loudly.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v curl >/dev/null || need_apt+=(curl)
command -v wrk >/dev/null || need_apt+=(wrk)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
[ -x target/venv/bin/python ] || python3 -m venv target/venv
target/venv/bin/pip install -q --disable-pip-version-check requests aiohttp

cargo build --release -q --example 11_http_server
bin=target/release/examples/11_http_server
log=$(mktemp)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -f "$log"; }
trap cleanup EXIT

# Start a server on a free port; set $url from its first line of output.
start() {
  : >"$log"
  "$bin" --port 0 "$@" >"$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    url=$(sed -n 's/^listening on \(http:[^ ]*\).*/\1/p' "$log" | head -n1)
    [ -n "$url" ] && return 0
    sleep 0.1
  done
  echo "server did not start:"; cat "$log"; exit 1
}

start
echo "== evloop server at $url"
curl -sS --max-time 5 "$url/hello/curl" | grep -q '"Hello, curl!"'
curl -sS --max-time 5 -X POST -H 'Content-Type: application/json' -d '{"a":1}' "$url/echo" | grep -q '"a":1'
test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url/nowhere")" = 404
echo "curl: ok"
timeout 60 target/venv/bin/python tests/python/http_clients.py "$url"

echo "== wrk -t2 -c100 -d5s $url/hello/wrk"
out=$(timeout 30 wrk -t2 -c100 -d5s "$url/hello/wrk")
echo "$out"
if grep -qE 'Socket errors|Non-2xx' <<<"$out"; then echo "wrk saw errors"; exit 1; fi
curl -sS --max-time 5 "$url/metrics"; echo

start --threads
echo "== thread-per-connection server at $url"
curl -sS --max-time 5 "$url/hello/threads" | grep -q '"Hello, threads!"'
echo "curl (threads): ok"
echo "http clients: all passed"
