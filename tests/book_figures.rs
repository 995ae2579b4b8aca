//! The book's comparison figures come from one file, so they cannot drift.
//!
//! `benches/compare/run.sh` writes its medians to `benches/compare/results.md`.
//! The chapters never copy a number from it by hand: `lessons/generated/figures.txt`
//! holds the tables and every single figure the prose quotes, each between
//! `ANCHOR:` lines, and `measuring.md` and `timer-wheel.md` include them
//! (`{{#include generated/figures.txt:gather_evloop_mem}}`).
//!
//! This test rebuilds `figures.txt` from `results.md` and fails if the two
//! disagree — after a new comparison run, or after a hand edit. To accept a new
//! run, regenerate the file:
//!
//! ```text
//! EVLOOP_BLESS=1 cargo test --test book_figures
//! ```

use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The runtimes of the main table, in column order, with the short names the
/// anchors use.
const RUNTIMES: [(&str, &str); 6] = [
    ("evloop", "evloop"),
    ("tokio-ct", "tokio"),
    ("tokio-mt2", "tokio_mt2"),
    ("smol", "smol"),
    ("asyncio", "asyncio"),
    ("uvloop", "uvloop"),
];

/// The table whose header line starts with `header`: that line and the `|`
/// lines after it.
fn table<'a>(results: &'a str, header: &str) -> Vec<&'a str> {
    let lines: Vec<&str> = results.lines().collect();
    let start = lines
        .iter()
        .position(|line| line.starts_with(header))
        .unwrap_or_else(|| panic!("results.md has no table starting {header:?}"));
    lines[start..]
        .iter()
        .take_while(|line| line.starts_with('|'))
        .copied()
        .collect()
}

/// The cells of a table row, trimmed, without the empty ends.
fn cells(row: &str) -> Vec<String> {
    row.trim()
        .trim_matches('|')
        .split('|')
        .map(|cell| cell.trim().to_string())
        .collect()
}

/// `0.164 s, 148.3 MB †` → (`0.164 s`, `148.3 MB`).
fn time_and_memory(cell: &str) -> (String, String) {
    let cell = cell.trim_end_matches('†').trim();
    let (time, memory) = cell
        .split_once(", ")
        .unwrap_or_else(|| panic!("a time, memory cell: {cell:?}"));
    (time.to_string(), memory.to_string())
}

/// `0.164 s` → 0.164.
fn seconds(time: &str) -> f64 {
    time.trim_end_matches(" s")
        .parse()
        .unwrap_or_else(|_| panic!("a time in seconds: {time:?}"))
}

fn anchor(out: &mut String, name: &str, body: &str) {
    writeln!(out, "ANCHOR: {name}\n{body}\nANCHOR_END: {name}").unwrap();
}

/// `figures.txt`, as `results.md` says it should be.
fn figures(results: &str) -> String {
    let main = table(results, "| workload | evloop | ÷ tokio-ct |");
    let floor = table(results, "| workload | evloop | tokio-ct | tokio-mt2 |");
    let memory = table(results, "| workload | evloop | tokio-mt2 | smol |");
    let mut out = String::from(
        "Generated from benches/compare/results.md by tests/book_figures.rs; do not edit.\n\
         Regenerate with: EVLOOP_BLESS=1 cargo test --test book_figures\n",
    );
    anchor(&mut out, "compare_table", &main.join("\n"));
    anchor(&mut out, "above_floor_table", &floor.join("\n"));
    anchor(&mut out, "memory_table", &memory.join("\n"));

    // The memory table names each workload in one word (`spawn`, `gather`),
    // row for row with the main table: those words name the anchors.
    let keys: Vec<String> = memory[2..]
        .iter()
        .map(|row| cells(row)[0].clone())
        .collect();
    assert_eq!(keys.len(), main.len() - 2, "one memory row per workload");
    for (key, row) in keys.iter().zip(&main[2..]) {
        let cells = cells(row);
        // Columns: workload, evloop, ratio, tokio-ct, then (runtime, ratio) pairs.
        let columns = [1, 3, 4, 6, 8, 10];
        let mut evloop_time = 0.0;
        for ((_, short), column) in RUNTIMES.iter().zip(columns) {
            let (time, mem) = time_and_memory(&cells[column]);
            if *short == "evloop" {
                evloop_time = seconds(&time);
            }
            if *short == "asyncio" {
                let times = (seconds(&time) / evloop_time).round();
                anchor(
                    &mut out,
                    &format!("{key}_asyncio_over_evloop"),
                    &format!("{times}×"),
                );
            }
            anchor(&mut out, &format!("{key}_{short}_time"), &time);
            anchor(&mut out, &format!("{key}_{short}_mem"), &mem);
        }
        anchor(
            &mut out,
            &format!("{key}_evloop_ratio"),
            cells[2].trim_matches('*'),
        );
    }
    for row in &floor[2..] {
        let cells = cells(row);
        for ((_, short), cell) in RUNTIMES.iter().zip(&cells[1..]) {
            anchor(&mut out, &format!("{}_{short}_above_floor", cells[0]), cell);
        }
    }
    out
}

#[test]
fn the_book_figures_are_the_latest_comparison_run() {
    let results = fs::read_to_string(root().join("benches/compare/results.md"))
        .expect("benches/compare/results.md exists");
    let want = figures(&results);
    let path = root().join("lessons/generated/figures.txt");
    if std::env::var_os("EVLOOP_BLESS").is_some() {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, &want).unwrap();
    }
    let have = fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "lessons/generated/figures.txt is not what benches/compare/results.md says; \
         run `EVLOOP_BLESS=1 cargo test --test book_figures` and check the chapters' prose"
    );
}

#[test]
fn the_chapters_quote_the_comparison_through_the_figures_file() {
    // The figures that once drifted (a wheel chapter saying 18 and 51 ms where
    // the table said 19 and 45) are now included, not typed.
    for (chapter, anchors) in [
        (
            "timer-wheel.md",
            &[
                "sleeps_evloop_above_floor",
                "sleeps_tokio_above_floor",
                "gather_evloop_mem",
            ][..],
        ),
        (
            "measuring.md",
            &["compare_table", "above_floor_table", "memory_table"][..],
        ),
    ] {
        let text = fs::read_to_string(root().join("lessons").join(chapter)).unwrap();
        for anchor in anchors {
            let include = format!("{{{{#include generated/figures.txt:{anchor}}}}}");
            assert!(
                text.contains(&include),
                "{chapter} should contain {include}"
            );
        }
    }
}
