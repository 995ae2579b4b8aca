#!/usr/bin/env bash
# Lesson 15's chat server against clients nobody here wrote: a real browser
# (Debian's chromium, driven by playwright-core), Python's `websockets`, and
# the Autobahn conformance cases (kosoku) on the /echo endpoint; plus the
# 1,000-client load test in release. Idempotent; installs what is missing
# (as root on a fresh Debian machine). Fails loudly on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

step() { printf '\n==> %s\n' "$*"; }

step "chromium"
if [ ! -x /usr/bin/chromium ]; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi
/usr/bin/chromium --version

step "playwright-core (npm, tests/browser)"
if [ ! -d tests/browser/node_modules/playwright-core ]; then
    (cd tests/browser && npm ci --no-audit --no-fund)
fi

step "python virtualenv: websockets, kosoku"
if [ ! -x target/venv/bin/kosoku ] || ! target/venv/bin/python -c 'import websockets' 2>/dev/null; then
    python3 -m venv target/venv
    target/venv/bin/pip install --quiet --upgrade pip
    target/venv/bin/pip install --quiet websockets kosoku
fi

step "build the chat examples (release)"
cargo build --release --example 15_chat_server --example 16_chat_client
target_dir=${CARGO_TARGET_DIR:-target}

step "a thousand clients, a million deliveries (release)"
cargo test --release --test 15_chat_server -- --nocapture

# Start a chat server (its environment as given) and set $server and $base.
start_chat_server() {
    log=$(mktemp)
    env "$@" "$target_dir"/release/examples/15_chat_server --port 0 >"$log" 2>&1 &
    server=$!
    trap 'kill "$server" 2>/dev/null || true; rm -f "$log"' EXIT
    for _ in $(seq 100); do
        grep -q '^listening on ' "$log" && break
        kill -0 "$server" 2>/dev/null || { cat "$log"; echo "the chat server died" >&2; exit 1; }
        sleep 0.1
    done
    base=$(sed -n 's/^listening on \(http:\/\/[0-9.:]*\).*/\1/p' "$log" | head -1)
    [ -n "$base" ] || { cat "$log"; echo "the chat server printed no address" >&2; exit 1; }
    echo "chat server at $base"
}

stop_chat_server() {
    kill "$server"
    wait "$server" 2>/dev/null || true
    trap - EXIT
    rm -f "$log"
}

step "start the chat server"
start_chat_server
ws="ws://${base#http://}"

step "browser: two chromium pages chat"
timeout 180 node tests/browser/chat.mjs "$base" target/browser-chat.png

step "terminal client (lesson 16): a line typed on stdin comes back"
out=$( (printf 'hello from the terminal\n'; sleep 1) | timeout 20 "$target_dir"/release/examples/16_chat_client --url "$ws/ws")
echo "$out"
grep -q ': hello from the terminal$' <<<"$out" || { echo "the terminal client did not get its line back" >&2; exit 1; }

step "python websockets: 50 clients x 20 messages"
timeout 120 target/venv/bin/python tests/python/chat_clients.py "$ws/ws"

step "Autobahn cases (kosoku) on /echo, compression (12.*, 13.*) out of scope"
reports=target/kosoku-reports
rm -rf "$reports"
timeout 600 target/venv/bin/kosoku "$ws/echo" -x '12.*' -x '13.*' -o "$reports"
target/venv/bin/python tests/python/kosoku_tally.py "$reports/index.json"

stop_chat_server

# The same server on two worker threads (Builder::worker_threads, through
# EVLOOP_WORKER_THREADS): the room's tasks now run in parallel.
step "on 2 worker threads: a thousand clients, a million deliveries (release)"
EVLOOP_WORKER_THREADS=2 cargo test --release --test 15_chat_server -- --nocapture

step "on 2 worker threads: two chromium pages, then 50 python clients"
start_chat_server EVLOOP_WORKER_THREADS=2
ws="ws://${base#http://}"
timeout 180 node tests/browser/chat.mjs "$base" target/browser-chat-workers.png
timeout 120 target/venv/bin/python tests/python/chat_clients.py "$ws/ws"
stop_chat_server

echo "integration: all passed"
