#!/usr/bin/env bash
# The Redis client (src/redis/), lesson 17 and the book's Redis answers
# against a real redis-server.
# `cargo test` already ran these, but skipped them if redis-server was
# missing; here it is installed if needed and EVLOOP_REQUIRE_REDIS=1 turns a
# missing server into a failure. Each test starts its own server on a free
# loopback port in a temporary directory and kills it afterwards.
# About 10 s on a warm build (the test binaries were built by `cargo test`).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi
redis-server --version

EVLOOP_REQUIRE_REDIS=1 cargo test -q \
  --test redis_client --test redis_faults --test 17_redis --test 14_pipeline \
  --test book_answers --test chat_bridge
