"""Turn the lines of a `compare` run into results.md (a table) and results.svg (a chart).

`benches/compare/run.sh` collects one line per process, as printed by
`main.rs` and `workloads.py`:

    evloop spawn 0.271s 180.4MB
    asyncio echo TIMEOUT

plus `# key: value` header lines (machine, versions, rounds). This script
takes the median time and the median peak memory of every (runtime,
workload) pair, and writes

- a Markdown table: rows are workloads, columns are runtimes (median time and
  peak MiB), each followed by its ratio to tokio's current-thread runtime;
- a self-contained SVG: a grouped bar chart of that ratio per workload, on a
  log scale, bars growing up (slower) or down (faster) from the 1x line.

Both outputs depend only on the input, byte for byte (no clock, no
randomness), so a re-run of the report over the same lines changes nothing.
Standard library only.

    python3 benches/compare/report.py RAW.txt --md results.md --svg results.svg
"""

import argparse
import math
import statistics
from xml.sax.saxutils import escape

RUNTIMES = ["evloop", "tokio-ct", "tokio-mt2", "smol", "asyncio", "uvloop"]
BASELINE = "tokio-ct"
WORKLOADS = ["spawn", "yield", "pingpong", "sleeps", "gather", "echo"]
LABELS = {
    "spawn": "spawn 1M tasks, await all",
    "yield": "1,000 tasks × 1,000 yields",
    "pingpong": "1,000 pairs × 1,000 ping-pongs, bounded(1)",
    "sleeps": "100k sleeps of 0–500 ms (floor 0.5 s)",
    "gather": "gather 10k × 1 s sleeps (floor 1.0 s)",
    "echo": "echo: 100 conns × 2,000 round trips of 64 B",
}
# The least time a workload can take: its longest sleep.
FLOORS = {"sleeps": 0.5, "gather": 1.0}
# Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
COLOURS = {
    "evloop": "#D55E00",
    "tokio-mt2": "#CC79A7",
    "smol": "#009E73",
    "asyncio": "#0072B2",
    "uvloop": "#56B4E9",
}


def parse(path):
    """(meta, samples, failures): samples[(rt, wl)] = [(secs, mib)], failures[(rt, wl)] = [why]."""
    meta, samples, failures = {}, {}, {}
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            line = line.strip()
            if not line:
                continue
            if line.startswith("#"):
                key, _, value = line[1:].partition(":")
                meta[key.strip()] = value.strip()
                continue
            fields = line.split()
            if len(fields) < 3:
                continue
            key = (fields[0], fields[1])
            if len(fields) == 4 and fields[2].endswith("s") and fields[3].endswith("MB"):
                samples.setdefault(key, []).append((float(fields[2][:-1]), float(fields[3][:-2])))
            else:
                failures.setdefault(key, []).append(" ".join(fields[2:]))
    return meta, samples, failures


class Medians:
    """Median time and memory per (runtime, workload), and ratios to the baseline."""

    def __init__(self, samples, failures):
        self.failures = failures
        self.time, self.mem, self.spread, self.n = {}, {}, {}, {}
        for key, runs in samples.items():
            times = [t for t, _ in runs]
            self.time[key] = statistics.median(times)
            self.mem[key] = statistics.median(m for _, m in runs)
            self.spread[key] = max(times) / min(times) - 1 if min(times) > 0 else 0.0
            self.n[key] = len(runs)

    def ratio(self, runtime, workload, table=None):
        table = self.time if table is None else table
        base = table.get((BASELINE, workload))
        value = table.get((runtime, workload))
        if base is None or value is None or base <= 0:
            return None
        return value / base

    def runtimes(self):
        present = {rt for rt, _ in self.time} | {rt for rt, _ in self.failures}
        return [rt for rt in RUNTIMES if rt in present]


def fmt_secs(secs):
    return f"{secs:.3f} s" if secs < 10 else f"{secs:.1f} s"


def fmt_ratio(ratio):
    if ratio is None:
        return "—"
    return f"{ratio:.2f}×" if ratio < 10 else f"{ratio:.0f}×"


def markdown(meta, med):
    runtimes = med.runtimes()
    rounds = meta.get("rounds", "?")
    out = [
        "# evloop beside tokio, smol and asyncio",
        "",
        f"Medians of {rounds} rounds, each (runtime, workload) pair in a fresh process, "
        "runtimes in alternating order. Time is wall-clock for the workload; memory is the "
        "process's peak RSS (VmHWM), interpreter or binary included. "
        f"`÷ {BASELINE}`: median time divided by tokio current-thread's (below 1: faster).",
        "",
    ]
    for key in ("machine", "memory", "rustc", "crates", "python", "commit", "command"):
        if key in meta:
            out.append(f"- **{key}**: {meta[key]}")
    out.append("")

    header = ["workload"]
    for rt in runtimes:
        header.append(rt)
        if rt != BASELINE:
            header.append(f"÷ {BASELINE}")
    out.append("| " + " | ".join(header) + " |")
    out.append("|" + "|".join(["---"] + ["--:"] * (len(header) - 1)) + "|")
    noisy = False
    for wl in WORKLOADS:
        row = [LABELS[wl]]
        for rt in runtimes:
            key = (rt, wl)
            if key in med.time:
                mark = ""
                if med.spread[key] > 0.10:
                    mark, noisy = " †", True
                if med.n[key] < int(rounds if rounds.isdigit() else 0):
                    mark += f" (n={med.n[key]})"
                row.append(f"{fmt_secs(med.time[key])}, {med.mem[key]:.1f} MB{mark}")
            elif key in med.failures:
                row.append(med.failures[key][0].lower())
            else:
                row.append("—")
            if rt != BASELINE:
                ratio = med.ratio(rt, wl)
                row.append(f"**{fmt_ratio(ratio)}**" if rt == "evloop" and ratio else fmt_ratio(ratio))
        out.append("| " + " | ".join(row) + " |")
    out.append("")
    if noisy:
        out.append("† the slowest round was more than 10% slower than the fastest.")
        out.append("")

    # Time above the floor: for the sleep workloads the ratio above is mostly
    # the sleep itself; this is what each runtime adds to it.
    out.append("Time above the floor (the longest sleep), where the ratio above hides it:")
    out.append("")
    out.append("| workload | " + " | ".join(runtimes) + " |")
    out.append("|---|" + "--:|" * len(runtimes))
    for wl, floor in FLOORS.items():
        cells = []
        for rt in runtimes:
            secs = med.time.get((rt, wl))
            cells.append("—" if secs is None else f"{(secs - floor) * 1000:.0f} ms")
        out.append(f"| {wl} | " + " | ".join(cells) + " |")
    out.append("")

    out.append(f"Peak memory ÷ {BASELINE}'s:")
    out.append("")
    out.append("| workload | " + " | ".join(rt for rt in runtimes if rt != BASELINE) + " |")
    out.append("|---|" + "--:|" * (len(runtimes) - 1))
    for wl in WORKLOADS:
        cells = [fmt_ratio(med.ratio(rt, wl, med.mem)) for rt in runtimes if rt != BASELINE]
        out.append(f"| {wl} | " + " | ".join(cells) + " |")
    out.append("")
    return "\n".join(out)


def svg(meta, med):
    """A grouped bar chart of time ÷ baseline, log2 scale, bars from the 1× line."""
    runtimes = [rt for rt in med.runtimes() if rt != BASELINE]
    ratios = [med.ratio(rt, wl) for rt in runtimes for wl in WORKLOADS]
    logs = [math.log2(r) for r in ratios if r]
    lo = min([-1] + [math.floor(v) for v in logs])
    hi = max([1] + [math.ceil(v) for v in logs])

    width, height = 980, 520
    left, right, top, bottom = 70, 20, 70, 110
    plot_w, plot_h = width - left - right, height - top - bottom

    def y(log_value):
        return top + plot_h * (hi - log_value) / (hi - lo)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{width / 2:.0f}" y="24" text-anchor="middle" font-size="16" font-weight="bold" '
        f'fill="#111111">Median time ÷ tokio current-thread (log scale; below the line is faster)</text>',
        f'<text x="{width / 2:.0f}" y="44" text-anchor="middle" fill="#444444">'
        f'{escape(meta.get("machine", ""))} · {escape(meta.get("rounds", "?"))} rounds</text>',
    ]
    # Grid lines and labels at every power of two.
    for k in range(lo, hi + 1):
        yy = y(k)
        label = f"{2.0 ** k:g}×"
        stroke = "#333333" if k == 0 else "#dddddd"
        parts.append(
            f'<line x1="{left}" y1="{yy:.1f}" x2="{width - right}" y2="{yy:.1f}" '
            f'stroke="{stroke}" stroke-width="{1.5 if k == 0 else 1}"/>'
        )
        parts.append(
            f'<text x="{left - 8}" y="{yy + 4:.1f}" text-anchor="end" fill="#333333">{label}</text>'
        )
    group_w = plot_w / len(WORKLOADS)
    bar_w = min(26.0, (group_w - 20) / max(1, len(runtimes)))
    for g, wl in enumerate(WORKLOADS):
        x0 = left + g * group_w + (group_w - bar_w * len(runtimes)) / 2
        for b, rt in enumerate(runtimes):
            x = x0 + b * bar_w
            ratio = med.ratio(rt, wl)
            if not ratio:
                parts.append(
                    f'<text x="{x + bar_w / 2:.1f}" y="{y(0) - 4:.1f}" text-anchor="middle" '
                    f'font-size="9" fill="#666666">n/a</text>'
                )
                continue
            y_end, y_one = y(math.log2(ratio)), y(0)
            top_y, h = min(y_end, y_one), max(abs(y_end - y_one), 1.0)
            parts.append(
                f'<rect x="{x + 1:.1f}" y="{top_y:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
                f'fill="{COLOURS.get(rt, "#888888")}"><title>{rt} {wl}: {ratio:.2f}×</title></rect>'
            )
            label_y = y_end - 4 if ratio >= 1 else y_end + 11
            value = f"{ratio:.2f}" if ratio < 10 else f"{ratio:.0f}"
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{label_y:.1f}" text-anchor="middle" '
                f'font-size="9" fill="#222222">{value}</text>'
            )
        parts.append(
            f'<text x="{left + (g + 0.5) * group_w:.1f}" y="{top + plot_h + 18}" '
            f'text-anchor="middle" font-weight="bold" fill="#111111">{wl}</text>'
        )
    # Legend, one row under the axis labels.
    lx = left
    ly = height - 50
    for rt in runtimes:
        parts.append(f'<rect x="{lx}" y="{ly}" width="14" height="14" fill="{COLOURS.get(rt, "#888888")}"/>')
        parts.append(f'<text x="{lx + 20}" y="{ly + 11}" fill="#111111">{rt}</text>')
        lx += 40 + 8 * len(rt)
    parts.append(
        f'<text x="{lx + 10}" y="{ly + 11}" fill="#444444">(1× = tokio current-thread)</text>'
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw", help="the lines collected by run.sh")
    parser.add_argument("--md", required=True, help="where to write the Markdown table")
    parser.add_argument("--svg", required=True, help="where to write the SVG chart")
    args = parser.parse_args()
    meta, samples, failures = parse(args.raw)
    med = Medians(samples, failures)
    with open(args.md, "w", encoding="utf-8") as f:
        f.write(markdown(meta, med))
    with open(args.svg, "w", encoding="utf-8") as f:
        f.write(svg(meta, med))
    print(markdown(meta, med))


if __name__ == "__main__":
    main()
