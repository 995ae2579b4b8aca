#!/usr/bin/env bash
# Lesson 20's console in a real browser: Debian's chromium (playwright-core)
# opens the console of the chat server while 20 Python clients connect; the
# page must list the chat's tasks by name and show the deliberately blocking
# task (`--block-ms 300`) as slow within 5 s. Reuses the chromium,
# playwright-core and Python setup of .ci/integration.sh (installs it when
# missing). About 15 s once the example is built (45 s with its build).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

step() { printf '\n==> %s\n' "$*"; }

step "chromium, playwright-core, python websockets"
if [ ! -x /usr/bin/chromium ]; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi
if [ ! -d tests/browser/node_modules/playwright-core ]; then
    (cd tests/browser && npm ci --no-audit --no-fund)
fi
if ! target/venv/bin/python -c 'import websockets' 2>/dev/null; then
    python3 -m venv target/venv
    target/venv/bin/pip install --quiet websockets
fi

step "build lesson 20 (release)"
cargo build --release --example 20_console
target_dir=${CARGO_TARGET_DIR:-target}

step "start the chat with its console, and a task that blocks 300 ms a second"
log=$(mktemp)
ready=$(mktemp -u)
"$target_dir"/release/examples/20_console --port 0 --console-port 0 --block-ms 300 >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$log" "$ready"' EXIT
for _ in $(seq 100); do
    grep -q '^console on ' "$log" && break
    kill -0 "$server" 2>/dev/null || { cat "$log"; echo "lesson 20 died" >&2; exit 1; }
    sleep 0.1
done
chat=$(sed -n 's/^listening on http:\/\/\([0-9.:]*\).*/\1/p' "$log" | head -1)
console=$(sed -n 's/^console on \(http:\/\/[0-9.:]*\/\).*/\1/p' "$log" | head -1)
[ -n "$chat" ] && [ -n "$console" ] || { cat "$log"; echo "no addresses printed" >&2; exit 1; }
echo "chat at http://$chat, console at $console"

step "browser: the console names the chat's tasks; the blocker shows up slow"
timeout 120 target/venv/bin/python tests/python/console_clients.py "ws://$chat/ws" "$ready" 12 &
clients=$!
CLIENTS_READY="$ready" timeout 120 node tests/browser/console.mjs "$console" target/browser-console.png
wait "$clients"

kill "$server"
wait "$server" 2>/dev/null || true
trap - EXIT
rm -f "$log" "$ready"
echo "console: all passed"
