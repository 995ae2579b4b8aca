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
//! - **One lane per worker** (`worker 0`, `worker 1`, ...), only for a run of
//!   a multi-thread runtime (`Builder::worker_threads`): every poll a worker
//!   ran is drawn again on its lane, so the picture answers "which thread ran
//!   what, when"; a worker's parks in the reactor go there too, not on `loop`.
//! - **One lane per task**, `main` (the `block_on` future) first, then the
//!   tasks in the order they were spawned, each with a thin lifeline from its
//!   spawn to its last poll.
//! - **Polls** as bars in the task's lane, coloured by outcome.
//! - **Wakes** as arrows from whoever woke the task (a task's lane, the timer
//!   row, an I/O row...) to the woken task's lane: the picture answers "who
//!   woke whom".
//! - **Steals** as arrows from the robbed worker's lane to the thief's: an
//!   idle worker took tasks from a busy one's queue.
//!
//! The output is deterministic: no ids, no timestamps, fixed number formats,
//! and real durations (how long a poll took) are left out — so the same paused
//! run gives the same file, byte for byte, and a test can check it is fresh.
//!
//! The drawing is split by what it draws: [`layout`] works out where every
//! row and column goes, [`lanes`] draws the background (bands, row labels,
//! lifelines), [`events`] the marks, [`axis`] the time axis, [`legend`] the
//! key. [`render`] calls them in that order, which is also the order the
//! SVG paints them: later marks are drawn over earlier ones.

mod axis;
mod events;
mod lanes;
mod layout;
mod legend;

use std::fmt::Write as _;

use self::layout::Layout;
use self::legend::Legend;
// The event model, for this file and the drawing files beside it (each
// takes it from here as `super::`).
use super::{readiness, EventKind, PollOutcome, Trace, WakeSource};

// The palette, shared by the marks and the legend's samples of them.
const PENDING: &str = "#4a7fc1";
const READY: &str = "#3a9a4a";
const PANICKED: &str = "#d0392b";
const CANCELLED: &str = "#8a8a8a";
const WAKE: &str = "#e0861a";
const STEAL: &str = "#b03a8c";
const JUMP: &str = "#7b4fb3";
const INK: &str = "#222222";
const FAINT: &str = "#b8b8b8";
const BAND: &str = "#eef2f7";

/// Renders `trace`; see the module doc for what the picture shows.
pub(super) fn render(trace: &Trace) -> String {
    // The legend first: the picture must be wide enough for it.
    let legend = Legend::new(trace);
    let layout = Layout::new(trace, legend.width());

    let mut svg = String::new();
    open(&mut svg, trace, &layout);
    lanes::draw(&mut svg, trace, &layout);
    events::draw(&mut svg, trace, &layout);
    axis::draw(&mut svg, trace, &layout);
    legend.draw(&mut svg, layout.legend_y());
    svg.push_str("</svg>\n");
    svg
}

/// The `<svg>` element's opening tag, a title, and a white background.
fn open(svg: &mut String, trace: &Trace, layout: &Layout) {
    let Layout { width, height, .. } = *layout;
    let _ = writeln!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="12" role="img">"##
    );
    // A multi-thread run's title also counts its workers.
    let workers = match layout.workers {
        0 => String::new(),
        n => format!(", {n} worker lanes"),
    };
    let _ = writeln!(
        svg,
        "<title>evloop trace: {} events, {} task lanes{workers}</title>",
        trace.events().len(),
        layout.tasks()
    );
    let _ = writeln!(
        svg,
        r##"<rect x="0" y="0" width="{width:.0}" height="{height:.0}" fill="#ffffff"/>"##
    );
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
