#!/usr/bin/env bash
# evloop beside tokio, smol, asyncio and uvloop: seven workloads, several rounds, two tables.
#
# Builds `benches/compare/main.rs` once, then for each of ROUNDS rounds runs
# every (runtime, workload) pair, each in a fresh process (peak memory is per
# process) under a timeout. Within a workload the runtimes take turns, and the
# order rotates every round, so a slow minute on a shared machine is spread
# over all of them instead of landing on one. Every line goes to a raw file;
# `report.py` then writes the medians to benches/compare/results.md and the
# chart to benches/compare/results.svg (the book's table: written only by a run
# of all its runtimes and workloads), and evloop on two workers beside tokio on
# two to benches/compare/results-mt.md (when the run had both).
#
# Usage, from anywhere in the repository (Linux: the workloads read /proc):
#   bash benches/compare/run.sh
#   ROUNDS=5 TIMEOUT=300 bash benches/compare/run.sh
#   RUNTIMES="evloop tokio-ct" WORKLOADS="spawn echo" bash benches/compare/run.sh
#   RUNTIMES="evloop evloop-mt2 tokio-ct tokio-mt2" UVLOOP=0 bash benches/compare/run.sh
#
# Python: uses target/venv (created if missing, uvloop installed into it when
# pip can); without it, the system python3 runs asyncio alone. UVLOOP=0 skips
# uvloop. Takes about 5 minutes a round on 2 cores, most of it Python.
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUNDS=${ROUNDS:-3}
WORKLOADS_SET=${WORKLOADS:-}
TIMEOUT=${TIMEOUT:-120}
WORKLOADS=${WORKLOADS:-"spawn yield pingpong sleeps gather echo chat"}
RAW=${RAW:-target/compare-raw.txt}
OUT=benches/compare

echo "building the compare binary (release)..." >&2
BIN=$(cargo bench --bench compare --no-run --message-format=json |
    python3 -c 'import json, sys
for line in sys.stdin:
    msg = json.loads(line)
    if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "compare" and msg.get("executable"):
        print(msg["executable"])')
[ -x "$BIN" ] || { echo "could not find the compare binary" >&2; exit 1; }

PY=python3
if [ "${UVLOOP:-1}" != 0 ]; then
    if [ ! -x target/venv/bin/python ]; then
        python3 -m venv target/venv >/dev/null 2>&1 || echo "python3 -m venv failed (apt install python3-venv?)" >&2
    fi
    if [ -x target/venv/bin/python ]; then
        PY=target/venv/bin/python
        "$PY" -c 'import uvloop' 2>/dev/null || "$PY" -m pip install -q uvloop >/dev/null 2>&1 ||
            echo "pip install uvloop failed: running without uvloop" >&2
    fi
fi
DEFAULT_RUNTIMES="evloop evloop-mt2 tokio-ct tokio-mt2 smol asyncio"
if "$PY" -c 'import uvloop' 2>/dev/null; then DEFAULT_RUNTIMES+=" uvloop"; fi
read -r -a runtimes <<<"${RUNTIMES:-$DEFAULT_RUNTIMES}"

# One workload on one runtime, in its own process: prints its line, or why not.
run_one() {
    local rt=$1 wl=$2 cmd line rc=0
    case $rt in
        asyncio | uvloop) cmd=("$PY" "$OUT/workloads.py" "$wl" --loop "$rt") ;;
        *) cmd=("$BIN" "$rt" "$wl") ;;
    esac
    line=$(timeout --kill-after=5 "$TIMEOUT" "${cmd[@]}" 2>/dev/null | tail -n 1) || rc=$?
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        echo "$rt $wl TIMEOUT"
    elif [ "$rc" -ne 0 ] || [ -z "$line" ]; then
        echo "$rt $wl FAILED (exit $rc)"
    else
        echo "$line"
    fi
}

cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
[ -n "$cpu" ] || cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)
mem_gib=$(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
crate_version() { awk -v n="$1" '$0 == "name = \"" n "\"" { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock; }
mkdir -p "$(dirname "$RAW")"
{
    echo "# machine: $(nproc) cores, ${cpu:-unknown CPU}, $mem_gib RAM, $(uname -sr)"
    echo "# rustc: $(rustc --version)"
    echo "# crates: tokio $(crate_version tokio), smol $(crate_version smol)"
    echo "# python: $("$PY" -c 'import sys; print(sys.version.split()[0])')$("$PY" -c 'import uvloop; print(", uvloop", uvloop.__version__)' 2>/dev/null || true)"
    echo "# commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
    echo "# rounds: $ROUNDS"
    echo "# command: ${RUNTIMES:+RUNTIMES=\"$RUNTIMES\" }${WORKLOADS_SET:+WORKLOADS=\"$WORKLOADS\" }ROUNDS=$ROUNDS bash benches/compare/run.sh"
} >"$RAW"

n=${#runtimes[@]}
for ((round = 0; round < ROUNDS; round++)); do
    for wl in $WORKLOADS; do
        for ((i = 0; i < n; i++)); do
            rt=${runtimes[(i + round) % n]}
            line=$(run_one "$rt" "$wl")
            echo "[round $((round + 1))/$ROUNDS] $line" >&2
            echo "$line" >>"$RAW"
        done
    done
done

# report.py prints each table it writes, and says on stderr which it left alone
# (a partial run never overwrites the book's table). --before: the results.md
# in place before this run, for the one-thread columns of results-mt.md.
python3 "$OUT/report.py" "$RAW" --md "$OUT/results.md" --svg "$OUT/results.svg" \
    --mt-md "$OUT/results-mt.md" --before "$OUT/results.md"
echo "raw lines: $RAW" >&2
echo "if results.md changed, the book quotes it: EVLOOP_BLESS=1 cargo test --test book_figures updates lessons/generated/figures.txt" >&2
