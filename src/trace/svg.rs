//! Drawing a [`Trace`] as a picture: one SVG timeline of the run.
//!
//! The book shows every numbered lesson's run this way (`lessons/img/`, made
//! by `tests/book_pictures.rs`). The picture is laid out in *steps*, not in
//! seconds: under a paused clock a poll takes no virtual time at all, and a
//! dozen events share the same timestamp, so a picture drawn to scale would
//! be one vertical line. Instead every event gets a column of its own, in the
//! order it happened, and the time axis says what the clock read where it
//! changes. Bands of alternating shade group the events that happened at the
//! same clock reading; a dashed line marks a jump of the paused clock.
//!
//! What is drawn, top to bottom:
//!
//! - **Source rows** (only those the run needs): `timers` (step 5 of the turn
//!   fires them), `I/O` (the reactor, step 4), `other thread` (a
//!   `spawn_blocking` job, a `std::thread`), `the runtime` (an abort between
//!   turns), and `loop` (where the loop parks).
//! - **One lane per task**, `main` (the `block_on` future) first, then the
//!   tasks in the order they were spawned, each with a thin lifeline from its
//!   spawn to its last poll.
//! - **Polls** as bars in the task's lane, coloured by outcome.
//! - **Wakes** as arrows from whoever woke the task (a task's lane, the timer
//!   row, an I/O row...) to the woken task's lane: the picture answers "who
//!   woke whom".
//!
//! The output is deterministic: no ids, no timestamps, fixed number formats,
//! and real durations (how long a poll took) are left out — so the same paused
//! run gives the same file, byte for byte, and a test can check it is fresh.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::{EventKind, PollOutcome, Trace, WakeSource};

/// Height of one lane or row.
const LANE: f64 = 26.0;
/// Space above the first row, for clock-jump labels.
const TOP: f64 = 34.0;
/// Width of the widest column an event gets (few events: roomy).
const MAX_STEP: f64 = 18.0;
/// Width of the narrowest column (many events: a wide picture, still legible).
const MIN_STEP: f64 = 6.0;
/// The width the columns aim to fill.
const TARGET_WIDTH: f64 = 900.0;

const PENDING: &str = "#4a7fc1";
const READY: &str = "#3a9a4a";
const PANICKED: &str = "#d0392b";
const CANCELLED: &str = "#8a8a8a";
const WAKE: &str = "#e0861a";
const JUMP: &str = "#7b4fb3";
const INK: &str = "#222222";
const FAINT: &str = "#b8b8b8";
const BAND: &str = "#eef2f7";

/// A row of the picture: a task's lane, or one of the sources of wakes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Row {
    Timers,
    Io,
    Thread,
    Runtime,
    Loop,
    Task(u64),
}

impl Row {
    fn of_source(by: WakeSource) -> Row {
        match by {
            WakeSource::Task(id) => Row::Task(id),
            WakeSource::Main => Row::Task(0),
            WakeSource::Timer => Row::Timers,
            WakeSource::Io(_) => Row::Io,
            WakeSource::OtherThread => Row::Thread,
            WakeSource::Runtime => Row::Runtime,
        }
    }
}

/// Renders `trace`; see the module doc for what the picture shows.
pub(super) fn render(trace: &Trace) -> String {
    let events = trace.events();
    let rows = rows(trace);
    let row_y: HashMap<Row, f64> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| (*row, TOP + LANE * i as f64 + LANE / 2.0))
        .collect();
    let sources = rows.iter().filter(|r| !matches!(r, Row::Task(_))).count();

    let label_width = rows
        .iter()
        .map(|row| label(trace, *row).chars().count())
        .max()
        .unwrap_or(4) as f64
        * 7.0
        + 16.0;
    let columns = events.len().max(1) as f64;
    let step = (TARGET_WIDTH / columns).clamp(MIN_STEP, MAX_STEP);
    let x0 = label_width.max(70.0);
    let x = |i: usize| x0 + step * (i as f64 + 0.5);
    let chart_right = x0 + step * columns + 10.0;
    let chart_bottom = TOP + LANE * rows.len() as f64;
    let legend = legend_items(trace);
    let legend_width: f64 = legend.iter().map(|(_, text)| legend_item_width(text)).sum();
    let width = chart_right.max(legend_width + 20.0).ceil();
    let height = (chart_bottom + 86.0).ceil();

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="12" role="img">"##
    );
    let _ = writeln!(
        svg,
        "<title>evloop trace: {} events, {} task lanes</title>",
        events.len(),
        rows.len() - sources
    );
    let _ = writeln!(
        svg,
        r##"<rect x="0" y="0" width="{width:.0}" height="{height:.0}" fill="#ffffff"/>"##
    );

    // Bands: one shade per run of events that share a clock reading.
    let mut runs: Vec<(usize, usize)> = Vec::new(); // [first, last] column
    for (i, e) in events.iter().enumerate() {
        match runs.last_mut() {
            Some((first, last)) if events[*first].at == e.at => *last = i,
            _ => runs.push((i, i)),
        }
    }
    for (n, (first, last)) in runs.iter().enumerate() {
        if n % 2 == 0 {
            let left = x(*first) - step / 2.0;
            let _ = writeln!(
                svg,
                r##"<rect x="{left:.1}" y="{TOP:.1}" width="{:.1}" height="{:.1}" fill="{BAND}"/>"##,
                step * (last - first + 1) as f64,
                chart_bottom - TOP
            );
        }
    }

    // Row labels and guide lines; a rule between the source rows and the tasks.
    for row in &rows {
        let y = row_y[row];
        let italic = if matches!(row, Row::Task(_)) {
            ""
        } else {
            r##" font-style="italic" fill="#666666""##
        };
        let _ = writeln!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end"{italic}>{}</text>"##,
            x0 - 8.0,
            y + 4.0,
            escape(&label(trace, *row))
        );
        let _ = writeln!(
            svg,
            r##"<line x1="{x0:.1}" y1="{y:.1}" x2="{chart_right:.1}" y2="{y:.1}" stroke="{FAINT}" stroke-width="0.5" stroke-dasharray="2 4"/>"##
        );
    }
    if sources > 0 {
        let y = TOP + LANE * sources as f64;
        let _ = writeln!(
            svg,
            r##"<line x1="4" y1="{y:.1}" x2="{chart_right:.1}" y2="{y:.1}" stroke="{FAINT}"/>"##
        );
    }

    // Lifelines: from a task's first event to its last.
    let mut span: HashMap<u64, (usize, usize)> = HashMap::new();
    for (i, e) in events.iter().enumerate() {
        if let Some(task) = task_of(&e.kind) {
            span.entry(task).and_modify(|s| s.1 = i).or_insert((i, i));
        }
    }
    for row in &rows {
        if let Row::Task(task) = row {
            if let Some((first, last)) = span.get(task) {
                let y = row_y[row];
                let _ = writeln!(
                    svg,
                    r##"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#777777" stroke-width="1.5"/>"##,
                    x(*first),
                    x(*last)
                );
            }
        }
    }

    // The events themselves.
    let bar = (step * 0.8).max(4.0);
    let mut last_jump_label = f64::NEG_INFINITY;
    for (i, e) in events.iter().enumerate() {
        let cx = x(i);
        let at = format!("{:.3}s", e.at.as_secs_f64());
        match &e.kind {
            EventKind::Spawn { task, .. } => {
                let y = row_y[&Row::Task(*task)];
                let _ = writeln!(
                    svg,
                    r##"<circle cx="{cx:.1}" cy="{y:.1}" r="3.5" fill="#ffffff" stroke="{INK}" stroke-width="1.5"><title>{at} spawn {}</title></circle>"##,
                    escape(&trace.name(*task))
                );
            }
            EventKind::Poll { task, outcome, .. } => {
                let y = row_y[&Row::Task(*task)];
                let fill = match outcome {
                    PollOutcome::Pending => PENDING,
                    PollOutcome::Ready => READY,
                    PollOutcome::Panicked => PANICKED,
                    PollOutcome::Cancelled => CANCELLED,
                };
                let _ = writeln!(
                    svg,
                    r##"<rect x="{:.1}" y="{:.1}" width="{bar:.1}" height="{:.1}" rx="1.5" fill="{fill}"><title>{at} poll {} → {outcome:?}</title></rect>"##,
                    cx - bar / 2.0,
                    y - LANE * 0.3,
                    LANE * 0.6,
                    escape(&trace.name(*task))
                );
            }
            EventKind::Wake { task, by } => {
                let to = row_y[&Row::Task(*task)];
                let from = row_y[&Row::of_source(*by)];
                let title = format!(
                    "{at} wake {} ← {}",
                    escape(&trace.name(*task)),
                    escape(&trace.by(*by))
                );
                if from == to {
                    // Woken by itself, during its own poll (yield_now, a self-wake).
                    let _ = writeln!(
                        svg,
                        r##"<path d="M {:.1} {:.1} a 4 4 0 1 1 4 4" fill="none" stroke="{WAKE}" stroke-width="1.5"><title>{title}</title></path>"##,
                        cx - 4.0,
                        to - 2.0
                    );
                } else {
                    arrow(&mut svg, cx, from, to, &title);
                    source_mark(&mut svg, *by, cx, from);
                }
            }
            EventKind::Io {
                token,
                readable,
                writable,
            } => {
                let y = row_y[&Row::Io];
                let r = if *readable { " readable" } else { "" };
                let w = if *writable { " writable" } else { "" };
                let _ = writeln!(
                    svg,
                    r##"<path d="M {cx:.1} {:.1} l 5 5 l -5 5 l -5 -5 z" fill="#2b8a8a"><title>{at} io#{token}{r}{w}</title></path>"##,
                    y - 5.0
                );
            }
            EventKind::Park { timeout } => {
                let y = row_y[&Row::Loop];
                let how = match timeout {
                    Some(t) => format!("for up to {:.3}s", t.as_secs_f64()),
                    None => "until I/O or a wake".to_string(),
                };
                let _ = writeln!(
                    svg,
                    r##"<rect x="{:.1}" y="{:.1}" width="{bar:.1}" height="{:.1}" fill="none" stroke="#666666" stroke-dasharray="2 1.5"><title>{at} park {how}</title></rect>"##,
                    cx - bar / 2.0,
                    y - LANE * 0.3,
                    LANE * 0.6
                );
            }
            EventKind::ClockJump { to } => {
                let _ = writeln!(
                    svg,
                    r##"<line x1="{cx:.1}" y1="{:.1}" x2="{cx:.1}" y2="{chart_bottom:.1}" stroke="{JUMP}" stroke-width="1.2" stroke-dasharray="4 3"><title>the clock jumps to {:.3}s</title></line>"##,
                    TOP - 8.0,
                    to.as_secs_f64()
                );
                if cx - last_jump_label >= 60.0 {
                    last_jump_label = cx;
                    let _ = writeln!(
                        svg,
                        r##"<text x="{cx:.1}" y="{:.1}" text-anchor="middle" fill="{JUMP}" font-size="11">→ {:.3}s</text>"##,
                        TOP - 12.0,
                        to.as_secs_f64()
                    );
                }
            }
            EventKind::SlowPoll { task, took } => {
                let y = row_y[&Row::Task(*task)];
                // Real time: left out under a paused clock, where it varies run to run.
                let how_long = if trace.paused {
                    "past the threshold".to_string()
                } else {
                    format!("{:.3}s", took.as_secs_f64())
                };
                let _ = writeln!(
                    svg,
                    r##"<path d="M {cx:.1} {:.1} l 6 10 l -12 0 z" fill="{PANICKED}"><title>{at} SLOW: {} held the loop {how_long}</title></path>"##,
                    y - 6.0,
                    escape(&trace.name(*task)),
                );
            }
        }
    }

    // The time axis: a tick where the clock reading changes, labelled where there is room.
    let axis = chart_bottom + 8.0;
    let _ = writeln!(
        svg,
        r##"<line x1="{x0:.1}" y1="{axis:.1}" x2="{chart_right:.1}" y2="{axis:.1}" stroke="{INK}"/>"##
    );
    let mut last_label = f64::NEG_INFINITY;
    for (first, _) in &runs {
        let tx = x(*first) - step / 2.0;
        let _ = writeln!(
            svg,
            r##"<line x1="{tx:.1}" y1="{axis:.1}" x2="{tx:.1}" y2="{:.1}" stroke="{INK}"/>"##,
            axis + 5.0
        );
        if tx - last_label >= 56.0 {
            last_label = tx;
            let _ = writeln!(
                svg,
                r##"<text x="{tx:.1}" y="{:.1}" text-anchor="start" font-size="11">{:.3}s</text>"##,
                axis + 17.0,
                events[*first].at.as_secs_f64()
            );
        }
    }
    let clock = if trace.paused {
        "virtual time (paused clock)"
    } else {
        "time (real clock)"
    };
    let _ = writeln!(
        svg,
        r##"<text x="{x0:.1}" y="{:.1}" fill="#666666" font-size="11">{clock}: one column per event, in order; the reading is marked where it changes</text>"##,
        axis + 32.0
    );

    // The legend: only what this picture uses.
    let mut lx = 10.0;
    let ly = axis + 56.0;
    for (mark, text) in &legend {
        draw_legend_mark(&mut svg, *mark, lx, ly);
        let _ = writeln!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" font-size="11">{text}</text>"##,
            lx + 16.0,
            ly + 4.0
        );
        lx += legend_item_width(text);
    }
    svg.push_str("</svg>\n");
    svg
}

/// The rows, top to bottom: the wake sources the run needs, then one lane per task.
fn rows(trace: &Trace) -> Vec<Row> {
    let mut needed = [false; 5]; // timers, io, thread, runtime, loop
    let mut tasks: Vec<u64> = Vec::new();
    let see = |task: u64, tasks: &mut Vec<u64>| {
        if !tasks.contains(&task) {
            tasks.push(task);
        }
    };
    for e in trace.events() {
        match &e.kind {
            EventKind::Wake { by, .. } => match by {
                WakeSource::Timer => needed[0] = true,
                WakeSource::Io(_) => needed[1] = true,
                WakeSource::OtherThread => needed[2] = true,
                WakeSource::Runtime => needed[3] = true,
                WakeSource::Task(_) | WakeSource::Main => {}
            },
            EventKind::Io { .. } => needed[1] = true,
            EventKind::Park { .. } => needed[4] = true,
            _ => {}
        }
        if let Some(task) = task_of(&e.kind) {
            see(task, &mut tasks);
        }
        if let EventKind::Wake {
            by: WakeSource::Task(task),
            ..
        } = &e.kind
        {
            see(*task, &mut tasks);
        }
    }
    // `main` first, whenever it appears: it is where a program starts.
    tasks.sort_by_key(|task| *task != 0);
    let sources = [Row::Timers, Row::Io, Row::Thread, Row::Runtime, Row::Loop];
    let mut rows: Vec<Row> = sources
        .into_iter()
        .zip(needed)
        .filter_map(|(row, needed)| needed.then_some(row))
        .collect();
    rows.extend(tasks.into_iter().map(Row::Task));
    rows
}

/// The task an event belongs to, if any.
fn task_of(kind: &EventKind) -> Option<u64> {
    match kind {
        EventKind::Spawn { task, .. }
        | EventKind::Poll { task, .. }
        | EventKind::Wake { task, .. }
        | EventKind::SlowPoll { task, .. } => Some(*task),
        _ => None,
    }
}

fn label(trace: &Trace, row: Row) -> String {
    match row {
        Row::Timers => "timers".to_string(),
        Row::Io => "I/O".to_string(),
        Row::Thread => "other thread".to_string(),
        Row::Runtime => "the runtime".to_string(),
        Row::Loop => "loop".to_string(),
        Row::Task(id) => {
            let name = trace.name(id);
            if name.chars().count() > 22 {
                name.chars().take(21).chain(['…']).collect()
            } else {
                name
            }
        }
    }
}

/// An arrow from row `from` to row `to` at column `x`: a wake.
fn arrow(svg: &mut String, x: f64, from: f64, to: f64, title: &str) {
    let dir = if to > from { 1.0 } else { -1.0 };
    // Stop short of the lane's centre, so the head sits on the lane's edge.
    let tip = to - dir * LANE * 0.32;
    let _ = writeln!(
        svg,
        r##"<g stroke="{WAKE}" fill="{WAKE}"><title>{title}</title><line x1="{x:.1}" y1="{from:.1}" x2="{x:.1}" y2="{:.1}" stroke-width="1.5"/><path d="M {x:.1} {tip:.1} l -3.5 {:.1} l 7 0 z" stroke="none"/></g>"##,
        tip - dir * 5.0,
        -dir * 6.0
    );
}

/// What a wake's source looks like at the tail of its arrow.
fn source_mark(svg: &mut String, by: WakeSource, x: f64, y: f64) {
    match by {
        // A little clock face: the timer that fired.
        WakeSource::Timer => {
            let _ = writeln!(
                svg,
                r##"<g stroke="{WAKE}" fill="#ffffff" stroke-width="1.3"><circle cx="{x:.1}" cy="{y:.1}" r="4.5"/><path d="M {x:.1} {:.1} l 0 3 l 2 1" fill="none"/></g>"##,
                y - 3.0
            );
        }
        WakeSource::Task(_) | WakeSource::Main => {
            let _ = writeln!(
                svg,
                r##"<circle cx="{x:.1}" cy="{y:.1}" r="2.5" fill="{WAKE}"/>"##
            );
        }
        WakeSource::Io(_) | WakeSource::OtherThread | WakeSource::Runtime => {
            let _ = writeln!(
                svg,
                r##"<rect x="{:.1}" y="{:.1}" width="6" height="6" fill="{WAKE}"/>"##,
                x - 3.0,
                y - 3.0
            );
        }
    }
}

#[derive(Clone, Copy)]
enum Mark {
    Bar(&'static str),
    Spawn,
    Wake,
    Timer,
    Jump,
    Io,
    Park,
    Slow,
}

fn legend_items(trace: &Trace) -> Vec<(Mark, &'static str)> {
    let mut seen = [false; 11];
    for e in trace.events() {
        let i = match &e.kind {
            EventKind::Spawn { .. } => 0,
            EventKind::Poll { outcome, .. } => match outcome {
                PollOutcome::Pending => 1,
                PollOutcome::Ready => 2,
                PollOutcome::Panicked => 3,
                PollOutcome::Cancelled => 4,
            },
            EventKind::Wake {
                by: WakeSource::Timer,
                ..
            } => 6,
            EventKind::Wake { .. } => 5,
            EventKind::ClockJump { .. } => 7,
            EventKind::Io { .. } => 8,
            EventKind::Park { .. } => 9,
            EventKind::SlowPoll { .. } => 10,
        };
        seen[i] = true;
    }
    let all = [
        (Mark::Spawn, "spawn"),
        (Mark::Bar(PENDING), "poll → Pending"),
        (Mark::Bar(READY), "poll → Ready"),
        (Mark::Bar(PANICKED), "poll → Panicked"),
        (Mark::Bar(CANCELLED), "dropped (aborted)"),
        (Mark::Wake, "wake: from who woke it"),
        (Mark::Timer, "a timer fired"),
        (Mark::Jump, "clock jump"),
        (Mark::Io, "I/O ready"),
        (Mark::Park, "loop parks"),
        (Mark::Slow, "slow poll"),
    ];
    all.into_iter()
        .zip(seen)
        .filter_map(|(item, seen)| seen.then_some(item))
        .collect()
}

fn legend_item_width(text: &str) -> f64 {
    16.0 + 6.6 * text.chars().count() as f64 + 18.0
}

fn draw_legend_mark(svg: &mut String, mark: Mark, x: f64, y: f64) {
    let cx = x + 5.0;
    let _ = match mark {
        Mark::Bar(fill) => writeln!(
            svg,
            r##"<rect x="{x:.1}" y="{:.1}" width="10" height="12" rx="1.5" fill="{fill}"/>"##,
            y - 6.0
        ),
        Mark::Spawn => writeln!(
            svg,
            r##"<circle cx="{cx:.1}" cy="{y:.1}" r="3.5" fill="#ffffff" stroke="{INK}" stroke-width="1.5"/>"##
        ),
        Mark::Wake => writeln!(
            svg,
            r##"<g stroke="{WAKE}" fill="{WAKE}"><circle cx="{cx:.1}" cy="{:.1}" r="2" stroke="none"/><line x1="{cx:.1}" y1="{:.1}" x2="{cx:.1}" y2="{:.1}" stroke-width="1.5"/><path d="M {cx:.1} {:.1} l -3.5 -6 l 7 0 z" stroke="none"/></g>"##,
            y - 7.0,
            y - 7.0,
            y + 2.0,
            y + 7.0
        ),
        Mark::Timer => writeln!(
            svg,
            r##"<g stroke="{WAKE}" fill="#ffffff" stroke-width="1.3"><circle cx="{cx:.1}" cy="{y:.1}" r="4.5"/><path d="M {cx:.1} {:.1} l 0 3 l 2 1" fill="none"/></g>"##,
            y - 3.0
        ),
        Mark::Jump => writeln!(
            svg,
            r##"<line x1="{cx:.1}" y1="{:.1}" x2="{cx:.1}" y2="{:.1}" stroke="{JUMP}" stroke-width="1.2" stroke-dasharray="4 3"/>"##,
            y - 7.0,
            y + 7.0
        ),
        Mark::Io => writeln!(
            svg,
            r##"<path d="M {cx:.1} {:.1} l 5 5 l -5 5 l -5 -5 z" fill="#2b8a8a"/>"##,
            y - 5.0
        ),
        Mark::Park => writeln!(
            svg,
            r##"<rect x="{x:.1}" y="{:.1}" width="10" height="12" fill="none" stroke="#666666" stroke-dasharray="2 1.5"/>"##,
            y - 6.0
        ),
        Mark::Slow => writeln!(
            svg,
            r##"<path d="M {cx:.1} {:.1} l 6 10 l -12 0 z" fill="{PANICKED}"/>"##,
            y - 6.0
        ),
    };
}

/// Text made safe for XML: task names are the user's.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}
