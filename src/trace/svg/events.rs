//! The events themselves: one mark per event, in its own column.
//!
//! Each mark carries a `<title>`, which a browser shows as a tooltip: the
//! clock reading and the event as [`Trace::timeline`] words it. On a
//! multi-thread run, a poll made on a worker is drawn twice — on its task's
//! lane and on the worker's — and a steal is an arrow between worker lanes.

use std::fmt::Write as _;
use std::time::Duration;

use super::layout::{Layout, Row, LANE, TOP};
use super::{escape, readiness, EventKind, PollOutcome, Trace, WakeSource};
use super::{CANCELLED, INK, JUMP, PANICKED, PENDING, READY, STEAL, WAKE};

/// Draws every event of `trace` in its column.
pub(super) fn draw(svg: &mut String, trace: &Trace, layout: &Layout) {
    let bar = (layout.step * 0.8).max(4.0);
    // Where the last clock-jump label went: labels closer than that would overlap.
    let mut last_jump_label = f64::NEG_INFINITY;
    for (i, e) in trace.events().iter().enumerate() {
        let cx = layout.x(i);
        let at = format!("{:.3}s", e.at.as_secs_f64());
        match &e.kind {
            EventKind::Spawn { task, .. } => {
                let y = layout.y(Row::Task(*task));
                let _ = writeln!(
                    svg,
                    r##"<circle cx="{cx:.1}" cy="{y:.1}" r="3.5" fill="#ffffff" stroke="{INK}" stroke-width="1.5"><title>{at} spawn {}</title></circle>"##,
                    escape(&trace.name(*task))
                );
            }
            EventKind::Poll { task, outcome, .. } => {
                let name = escape(&trace.name(*task));
                let title = format!("{at} poll {name} → {outcome:?}");
                poll_bar(svg, layout, Row::Task(*task), cx, bar, *outcome, &title);
                // On a worker thread: the same poll again, on the worker's lane.
                if let Some(worker) = e.worker {
                    let title = format!("{at} worker {worker} polls {name} → {outcome:?}");
                    poll_bar(svg, layout, Row::Worker(worker), cx, bar, *outcome, &title);
                }
            }
            EventKind::Wake { task, by } => {
                let title = format!(
                    "{at} wake {} ← {}",
                    escape(&trace.name(*task)),
                    escape(&trace.by(*by))
                );
                wake(svg, layout, cx, *task, *by, &title);
            }
            EventKind::Io {
                token,
                readable,
                writable,
            } => {
                let y = layout.y(Row::Io);
                let ready = readiness(*readable, *writable);
                let _ = writeln!(
                    svg,
                    r##"<path d="M {cx:.1} {:.1} l 5 5 l -5 5 l -5 -5 z" fill="#2b8a8a"><title>{at} io#{token}{ready}</title></path>"##,
                    y - 5.0
                );
            }
            EventKind::Park { timeout } => {
                // A worker parks on its own lane: a multi-thread runtime has no one loop.
                let y = layout.y(e.worker.map_or(Row::Loop, Row::Worker));
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
            EventKind::Steal { from, to, tasks } => {
                let s = if *tasks == 1 { "" } else { "s" };
                let title = format!("{at} w{to} stole {tasks} task{s} from w{from}");
                let (from, to) = (layout.y(Row::Worker(*from)), layout.y(Row::Worker(*to)));
                arrow(svg, cx, from, to, STEAL, &title);
                let _ = writeln!(
                    svg,
                    r##"<circle cx="{cx:.1}" cy="{from:.1}" r="2.5" fill="{STEAL}"/>"##
                );
            }
            EventKind::ClockJump { to } => {
                let labelled = cx - last_jump_label >= 60.0;
                if labelled {
                    last_jump_label = cx;
                }
                clock_jump(svg, layout, cx, *to, labelled);
            }
            EventKind::DropPanic { task } => {
                let y = layout.y(Row::Task(*task));
                let _ = writeln!(
                    svg,
                    r##"<circle cx="{cx:.1}" cy="{y:.1}" r="4" fill="{PANICKED}"><title>{at} dropping the output of {} panicked (contained)</title></circle>"##,
                    escape(&trace.name(*task)),
                );
            }
            EventKind::SlowPoll { task, took } => {
                let y = layout.y(Row::Task(*task));
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
}

/// A poll's bar in `row` (a task's lane or a worker's), coloured by what the
/// poll returned, with `title` as its tooltip.
fn poll_bar(
    svg: &mut String,
    layout: &Layout,
    row: Row,
    cx: f64,
    bar: f64,
    outcome: PollOutcome,
    title: &str,
) {
    let y = layout.y(row);
    let fill = poll_colour(outcome);
    let _ = writeln!(
        svg,
        r##"<rect x="{:.1}" y="{:.1}" width="{bar:.1}" height="{:.1}" rx="1.5" fill="{fill}"><title>{title}</title></rect>"##,
        cx - bar / 2.0,
        y - LANE * 0.3,
        LANE * 0.6,
    );
}

/// A poll's bar is coloured by what the poll returned.
fn poll_colour(outcome: PollOutcome) -> &'static str {
    match outcome {
        PollOutcome::Pending => PENDING,
        PollOutcome::Ready => READY,
        PollOutcome::Panicked => PANICKED,
        PollOutcome::Cancelled => CANCELLED,
    }
}

/// A wake of `task` by `by`: an arrow from the waker's row to the task's
/// lane — or, when the task woke itself, a small loop in its own lane.
fn wake(svg: &mut String, layout: &Layout, x: f64, task: u64, by: WakeSource, title: &str) {
    let to = layout.y(Row::Task(task));
    let from = layout.y(Row::of_source(by));
    if from == to {
        // Woken by itself, during its own poll (yield_now, a self-wake).
        let _ = writeln!(
            svg,
            r##"<path d="M {:.1} {:.1} a 4 4 0 1 1 4 4" fill="none" stroke="{WAKE}" stroke-width="1.5"><title>{title}</title></path>"##,
            x - 4.0,
            to - 2.0
        );
    } else {
        arrow(svg, x, from, to, WAKE, title);
        source_mark(svg, by, x, from);
    }
}

/// An arrow from row `from` to row `to` at column `x`, in `colour`: a wake,
/// or a steal.
fn arrow(svg: &mut String, x: f64, from: f64, to: f64, colour: &str, title: &str) {
    let dir = if to > from { 1.0 } else { -1.0 };
    // Stop short of the lane's centre, so the head sits on the lane's edge.
    let tip = to - dir * LANE * 0.32;
    let _ = writeln!(
        svg,
        r##"<g stroke="{colour}" fill="{colour}"><title>{title}</title><line x1="{x:.1}" y1="{from:.1}" x2="{x:.1}" y2="{:.1}" stroke-width="1.5"/><path d="M {x:.1} {tip:.1} l -3.5 {:.1} l 7 0 z" stroke="none"/></g>"##,
        tip - dir * 5.0,
        -dir * 6.0
    );
}

/// What a wake's source looks like at the tail of its arrow.
fn source_mark(svg: &mut String, by: WakeSource, x: f64, y: f64) {
    match by {
        WakeSource::Timer => clock_face(svg, x, y),
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

/// A little clock face: the timer that fired (the legend draws the same one).
pub(super) fn clock_face(svg: &mut String, x: f64, y: f64) {
    let _ = writeln!(
        svg,
        r##"<g stroke="{WAKE}" fill="#ffffff" stroke-width="1.3"><circle cx="{x:.1}" cy="{y:.1}" r="4.5"/><path d="M {x:.1} {:.1} l 0 3 l 2 1" fill="none"/></g>"##,
        y - 3.0
    );
}

/// A jump of the paused clock: a dashed line across every row, with the new
/// reading above it when `labelled`.
fn clock_jump(svg: &mut String, layout: &Layout, x: f64, to: Duration, labelled: bool) {
    let bottom = layout.chart_bottom;
    let _ = writeln!(
        svg,
        r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{bottom:.1}" stroke="{JUMP}" stroke-width="1.2" stroke-dasharray="4 3"><title>the clock jumps to {:.3}s</title></line>"##,
        TOP - 8.0,
        to.as_secs_f64()
    );
    if labelled {
        let _ = writeln!(
            svg,
            r##"<text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="{JUMP}" font-size="11">→ {:.3}s</text>"##,
            TOP - 12.0,
            to.as_secs_f64()
        );
    }
}
