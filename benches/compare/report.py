"""Turn the lines of a `compare` run into results.md, results.svg and results-mt.md.

`benches/compare/run.sh` collects one line per process, as printed by
`main.rs` and `workloads.py`:

    evloop spawn 0.271s 180.4MB
    asyncio echo TIMEOUT

plus `# key: value` header lines (machine, versions, rounds). This script
takes the median time and the median peak memory of every (runtime,
workload) pair, and writes

- `--md`: a Markdown table: rows are the six workloads the book quotes,
  columns are the book's runtimes (median time and peak MiB), each followed by
  its ratio to tokio's current-thread runtime. The book's figures are read
  from this file cell by cell (tests/book_figures.rs), so its shape is fixed:
  `chat` and `evloop-mt2` are not in it, and it is written only when the run
  had every runtime and workload of the table (a partial run would empty the
  book's cells); otherwise the file is left as it was, and the script says so.
- `--svg`: a self-contained SVG of the same table: a grouped bar chart of that
  ratio per workload, on a log scale, bars growing up (slower) or down
  (faster) from the 1x line. Written together with `--md`, or not at all.
- `--mt-md`: the multi-thread table: evloop on two workers beside tokio on two
  workers, and the one-thread evloop beside tokio current-thread from the same
  run, on all seven workloads, with each pair's spread over rounds and the
  per-round ratios (runtimes take turns within a round, so a round's ratio
  compares runs made a few seconds apart). `--before results.md` adds the
  one-thread ratios of an earlier run, read from its table, to check that the
  one-thread loop did not move.

Every output depends only on the input, byte for byte (no clock, no
randomness), so a re-run of the report over the same lines changes nothing.
Standard library only.

    python3 benches/compare/report.py RAW.txt --md results.md --svg results.svg \
        --mt-md results-mt.md --before results.md
"""

import argparse
import math
import os
import statistics
import sys
from xml.sax.saxutils import escape

# The book's table (results.md, results.svg): these columns and rows, no others.
RUNTIMES = ["evloop", "tokio-ct", "tokio-mt2", "smol", "asyncio", "uvloop"]
BASELINE = "tokio-ct"
WORKLOADS = ["spawn", "yield", "pingpong", "sleeps", "gather", "echo"]
# Everything a run may hold: the book's, plus evloop on two workers and `chat`.
ALL_RUNTIMES = ["evloop", "evloop-mt2", "tokio-ct", "tokio-mt2", "smol", "asyncio", "uvloop"]
ALL_WORKLOADS = WORKLOADS + ["chat"]
# The multi-thread table's pairs: (runtime, the one it is divided by).
MT_PAIR = ("evloop-mt2", "tokio-mt2")
CT_PAIR = ("evloop", "tokio-ct")
LABELS = {
    "spawn": "spawn 1M tasks, await all",
    "yield": "1,000 tasks × 1,000 yields",
    "pingpong": "1,000 pairs × 1,000 ping-pongs, bounded(1)",
    "sleeps": "100k sleeps of 0–500 ms (floor 0.5 s)",
    "gather": "gather 10k × 1 s sleeps (floor 1.0 s)",
    "echo": "echo: 100 conns × 2,000 round trips of 64 B",
    "chat": "chat: 100 members × 100 rounds, every line to all",
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
    """(meta, samples, failures, rounds).

    samples[(rt, wl)] = [(secs, mib)], failures[(rt, wl)] = [why], and
    rounds[(rt, wl)] = {round index: secs}: run.sh writes one line per pair
    per round, rounds in order, so a pair's k-th line is from round k.
    """
    meta, samples, failures, rounds = {}, {}, {}, {}
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
            by_round = rounds.setdefault(key, {})
            k = len(by_round)
            if len(fields) == 4 and fields[2].endswith("s") and fields[3].endswith("MB"):
                secs = float(fields[2][:-1])
                samples.setdefault(key, []).append((secs, float(fields[3][:-2])))
                by_round[k] = secs
            else:
                failures.setdefault(key, []).append(" ".join(fields[2:]))
                by_round[k] = None
    return meta, samples, failures, rounds


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
        return self.ratio_of(runtime, BASELINE, workload, table)

    def ratio_of(self, runtime, base_runtime, workload, table=None):
        table = self.time if table is None else table
        base = table.get((base_runtime, workload))
        value = table.get((runtime, workload))
        if base is None or value is None or base <= 0:
            return None
        return value / base

    def runtimes(self, order=RUNTIMES):
        present = {rt for rt, _ in self.time} | {rt for rt, _ in self.failures}
        return [rt for rt in order if rt in present]

    def has(self, runtime, workload):
        """Whether the run tried this pair at all (a failure counts: it is reported)."""
        return (runtime, workload) in self.time or (runtime, workload) in self.failures

    def cell(self, runtime, workload, rounds):
        """`0.164 s ±3%, 148.3 MB`: median time, spread (slowest ÷ fastest − 1), median MiB."""
        key = (runtime, workload)
        if key not in self.time:
            return self.failures[key][0].lower() if key in self.failures else "—"
        text = f"{fmt_secs(self.time[key])} ±{self.spread[key] * 100:.0f}%, {self.mem[key]:.1f} MB"
        if self.n[key] < rounds:
            text += f" (n={self.n[key]})"
        return text


def book_table_complete(med):
    """Whether the run tried every (runtime, workload) pair of results.md's table."""
    return all(med.has(rt, wl) for rt in RUNTIMES for wl in WORKLOADS)


def per_round_ratios(rounds, pair, workload):
    """time(first) ÷ time(second) in each round where both ran."""
    first = rounds.get((pair[0], workload), {})
    second = rounds.get((pair[1], workload), {})
    return [
        first[k] / second[k]
        for k in sorted(first)
        if first[k] is not None and second.get(k) and second[k] > 0
    ]


def before_ratios(path):
    """{workload: evloop ÷ tokio-ct} from an earlier results.md's main table, if readable."""
    if not path or not os.path.exists(path):
        return {}
    labels = {label: wl for wl, label in LABELS.items()}
    ratios, header = {}, None
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if not line.startswith("|"):
                header = None
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cells[:3] == ["workload", "evloop", f"÷ {BASELINE}"]:
                header = cells
            elif header and cells[0] in labels:
                ratios[labels[cells[0]]] = (cells[1], cells[2].strip("*"))
    return ratios


def mt_markdown(meta, med, rounds, before, before_name):
    """results-mt.md: evloop on two workers beside tokio on two, and the one-thread pair."""
    n_rounds = int(meta["rounds"]) if meta.get("rounds", "").isdigit() else 0
    out = [
        "# evloop on two workers beside tokio on two",
        "",
        f"Medians of {meta.get('rounds', '?')} rounds, each (runtime, workload) pair in a fresh "
        "process, runtimes taking turns within a round in an order that rotates every round. "
        "A cell is the median wall-clock time, its spread (slowest round ÷ fastest − 1), and "
        "the median peak RSS (VmHWM). `÷`: median time divided by the other runtime's median "
        "time (below 1: faster); `per round`: the same ratio taken within each round — its median, "
        "then lowest–highest (the pair ran seconds apart, so a busy minute on the machine "
        "slows both: the steadier figure on a shared machine).",
        "",
    ]
    for key in ("machine", "memory", "rustc", "crates", "python", "commit", "command"):
        if key in meta:
            out.append(f"- **{key}**: {meta[key]}")
    out.append("")

    def pair_table(pair, extra_header=(), extra=lambda wl: []):
        a, b = pair
        header = ["workload", a, b, f"÷ {b}", "per round", "memory ÷"] + list(extra_header)
        rows = [
            "| " + " | ".join(header) + " |",
            "|" + "|".join(["---"] + ["--:"] * (len(header) - 1)) + "|",
        ]
        for wl in ALL_WORKLOADS:
            if not (med.has(a, wl) or med.has(b, wl)):
                continue
            ratio = med.ratio_of(a, b, wl)
            per = per_round_ratios(rounds, pair, wl)
            per_text = (
                f"{statistics.median(per):.2f} ({min(per):.2f}–{max(per):.2f})" if len(per) > 1 else "—"
            )
            row = [
                LABELS[wl],
                med.cell(a, wl, n_rounds),
                med.cell(b, wl, n_rounds),
                f"**{fmt_ratio(ratio)}**" if ratio else "—",
                per_text,
                fmt_ratio(med.ratio_of(a, b, wl, med.mem)),
            ] + extra(wl)
            rows.append("| " + " | ".join(row) + " |")
        return rows

    if set(MT_PAIR) <= set(med.runtimes(ALL_RUNTIMES)):
        out.append(f"## Two workers: `{MT_PAIR[0]}` ÷ `{MT_PAIR[1]}`")
        out.append("")
        out.append(
            "`evloop::Runtime::builder().worker_threads(2)` and "
            "`tokio::runtime::Builder::new_multi_thread().worker_threads(2)`: the same "
            "workload code as the one-thread columns; the `block_on` future on the main "
            "thread, the spawned tasks on the two workers."
        )
        out.append("")
        # Anchors for the book: lessons/measuring.md includes this table as it is.
        out.append("<!-- ANCHOR: two_workers -->")
        out.extend(pair_table(MT_PAIR))
        out.append("<!-- ANCHOR_END: two_workers -->")
        out.append("")
    if set(CT_PAIR) <= set(med.runtimes(ALL_RUNTIMES)):
        out.append(f"## One thread, the same run: `{CT_PAIR[0]}` ÷ `{CT_PAIR[1]}`")
        out.append("")
        if before:
            out.append(
                f"The last two columns are the same pair in `{before_name}` (an earlier run, the "
                "book's figures): the one-thread loop should not have moved. Compare the ratios; "
                "absolute times move with the machine's load."
            )
        else:
            out.append("The one-thread loop beside tokio's current-thread runtime, for reference.")
        out.append("")
        extra_header = (f"evloop in {before_name}", f"÷ {BASELINE} there") if before else ()

        def extra(wl):
            if not before:
                return []
            cell, ratio = before.get(wl, ("—", "—"))
            return [cell, ratio]

        out.extend(pair_table(CT_PAIR, extra_header, extra))
        out.append("")
    # `chat` on every runtime that ran it: it is not in the book's table.
    chat = [rt for rt in med.runtimes(ALL_RUNTIMES) if med.has(rt, "chat")]
    if len(chat) > 2:
        out.append(f"## `chat` on every runtime (÷ {BASELINE})")
        out.append("")
        out.append("| runtime | chat | ÷ " + BASELINE + " | memory ÷ |")
        out.append("|---|--:|--:|--:|")
        for rt in chat:
            out.append(
                f"| {rt} | {med.cell(rt, 'chat', n_rounds)} | "
                f"{fmt_ratio(med.ratio(rt, 'chat'))} | {fmt_ratio(med.ratio(rt, 'chat', med.mem))} |"
            )
        out.append("")
    return "\n".join(out)


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
    parser.add_argument("--md", help="where to write the book's Markdown table")
    parser.add_argument("--svg", help="where to write the book's SVG chart")
    parser.add_argument("--mt-md", help="where to write the multi-thread table")
    parser.add_argument("--before", help="an earlier results.md, for the one-thread check")
    args = parser.parse_args()
    meta, samples, failures, rounds = parse(args.raw)
    med = Medians(samples, failures)
    # Read the earlier table before anything is written: it may be the same file.
    before = before_ratios(args.before)
    before_name = os.path.basename(args.before) if args.before else ""
    if args.md or args.svg:
        if book_table_complete(med):
            if args.md:
                with open(args.md, "w", encoding="utf-8") as f:
                    f.write(markdown(meta, med))
            if args.svg:
                with open(args.svg, "w", encoding="utf-8") as f:
                    f.write(svg(meta, med))
            print(markdown(meta, med))
        else:
            missing = [f"{rt} {wl}" for rt in RUNTIMES for wl in WORKLOADS if not med.has(rt, wl)]
            print(
                f"not writing {args.md or args.svg}: the book's table needs every runtime and "
                f"workload; this run lacks {len(missing)} pairs ({', '.join(missing[:4])}"
                f"{', …' if len(missing) > 4 else ''})",
                file=sys.stderr,
            )
    if args.mt_md:
        if set(MT_PAIR) <= set(med.runtimes(ALL_RUNTIMES)):
            text = mt_markdown(meta, med, rounds, before, before_name)
            with open(args.mt_md, "w", encoding="utf-8") as f:
                f.write(text)
            print(text)
        else:
            print(f"not writing {args.mt_md}: the run has not both of {' and '.join(MT_PAIR)}",
                  file=sys.stderr)


if __name__ == "__main__":
    main()
