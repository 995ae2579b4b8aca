#!/usr/bin/env bash
# Peak memory of 1,000,000 parked tasks: evloop against tokio's current-thread runtime.
#
# Criterion measures time, not memory, so this runs the two `#[ignore]`d tests
# in tests/scale.rs (`mem_evloop`, `mem_tokio`), each in its own process
# (peak RSS, `VmHWM` in /proc/self/status, is per process), in release mode,
# and prints the ratio. Each test spawns 1,000,000 tasks that park on one
# shared gate, waits until all have parked, opens the gate and joins them all.
#
# The target from the perf issue: evloop uses no more than 2x tokio's memory.
# The ratio printed is of the *growth* (peak RSS minus RSS before the runtime
# was built), i.e. the memory the tasks cost, not the test binary's baseline.
#
# Usage: benches/memory.sh   (Linux only: it reads /proc)
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --release --test scale --no-run 2>/dev/null

run() {
    cargo test --release --test scale -q -- --ignored --exact "$1" --nocapture 2>/dev/null \
        | grep '^memory '
}

evloop_line=$(run mem_evloop)
tokio_line=$(run mem_tokio)
echo "$evloop_line"
echo "$tokio_line"

field() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" <<<"$2"; }
e_growth=$(field growth_kib "$evloop_line")
t_growth=$(field growth_kib "$tokio_line")
e_peak=$(field peak_rss_kib "$evloop_line")
t_peak=$(field peak_rss_kib "$tokio_line")
awk -v eg="$e_growth" -v tg="$t_growth" -v ep="$e_peak" -v tp="$t_peak" 'BEGIN {
    printf "evloop/tokio: growth %.2fx, peak RSS %.2fx (target: growth <= 2.00x)\n", eg / tg, ep / tp
}'
