#!/usr/bin/env bash
# Instructions executed per workload and runtime, counted by valgrind's
# callgrind: unlike a stopwatch, the count is the same on a busy machine as on
# an idle one, so small changes to a hot path can be compared run to run.
#
#   bash benches/callgrind.sh                 # yield, pingpong, spawn on evloop, tokio-ct, smol
#   WORKLOADS="yield" RUNTIMES="evloop" bash benches/callgrind.sh
#
# Each run executes the comparison binary (benches/compare/main.rs) once under
# callgrind (about 50x slower than native) and prints the total instruction
# count; `callgrind_annotate target/callgrind/<runtime>.<workload>.out` shows
# where they went, function by function.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is needed: apt-get install valgrind" >&2; exit 1; }
bin=$(cargo bench --bench compare --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "compare" and m.get("executable"):
        print(m["executable"])')
mkdir -p target/callgrind
printf '%-10s %-10s %16s\n' workload runtime instructions
for w in ${WORKLOADS:-yield pingpong spawn}; do
  for r in ${RUNTIMES:-evloop tokio-ct smol}; do
    out=target/callgrind/$r.$w.out
    refs=$(valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" "$r" "$w" 2>&1 |
      sed -n 's/.*I *refs: *//p')
    printf '%-10s %-10s %16s\n' "$w" "$r" "$refs"
  done
done
