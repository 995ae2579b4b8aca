"""Tally a kosoku (Autobahn) report: every case must pass or be non-strict.

    python tests/python/kosoku_tally.py target/kosoku-reports/index.json
"""

import collections
import json
import sys

ACCEPTED = {"OK", "NON-STRICT", "INFORMATIONAL"}

with open(sys.argv[1]) as f:
    report = json.load(f)

tally = collections.Counter()
failed = []
for agent, cases in report.items():
    for case, result in cases.items():
        behavior = result["behavior"]
        tally[behavior] += 1
        if behavior not in ACCEPTED or result.get("behaviorClose") not in ACCEPTED:
            failed.append((case, behavior, result.get("behaviorClose")))

print("kosoku tally: " + ", ".join(f"{n} {b}" for b, n in sorted(tally.items())) + f" ({sum(tally.values())} cases)")
if not tally:
    sys.exit("kosoku ran no case")
if failed:
    for case, behavior, close in failed:
        print(f"  FAILED {case}: {behavior} / close {close}")
    sys.exit(f"{len(failed)} Autobahn cases failed")
