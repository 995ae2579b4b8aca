//! The legend along the bottom: a sample of each mark, only those the picture uses.

use std::fmt::Write as _;

use super::events::clock_face;
use super::{EventKind, PollOutcome, Trace, WakeSource};
use super::{CANCELLED, INK, JUMP, PANICKED, PENDING, READY, STEAL, WAKE};

/// The sample drawn beside a legend entry's text.
#[derive(Clone, Copy)]
enum Mark {
    /// A poll's bar, in the colour of its outcome.
    Bar(&'static str),
    Spawn,
    Wake,
    Timer,
    Jump,
    Io,
    Park,
    Slow,
    /// A steal's arrow, from the robbed worker to the thief.
    Steal,
}

/// The entries a picture's legend shows, left to right.
pub(super) struct Legend {
    items: Vec<(Mark, &'static str)>,
}

impl Legend {
    /// The entries for what `trace` contains, always in the same order.
    pub(super) fn new(trace: &Trace) -> Legend {
        let mut seen = [false; 12];
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
                EventKind::Steal { .. } => 11,
                // Drawn as a panic on the task's row.
                EventKind::DropPanic { .. } => 3,
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
            (Mark::Steal, "steal: robbed worker → thief"),
        ];
        let items = all
            .into_iter()
            .zip(seen)
            .filter_map(|(item, seen)| seen.then_some(item))
            .collect();
        Legend { items }
    }

    /// How wide the legend is: the picture is made at least this wide.
    pub(super) fn width(&self) -> f64 {
        self.items.iter().map(|(_, text)| item_width(text)).sum()
    }

    /// Draws the entries in one line, centred on `y`.
    pub(super) fn draw(&self, svg: &mut String, y: f64) {
        let mut x = 10.0;
        for (mark, text) in &self.items {
            draw_mark(svg, *mark, x, y);
            let _ = writeln!(
                svg,
                r##"<text x="{:.1}" y="{:.1}" font-size="11">{text}</text>"##,
                x + 16.0,
                y + 4.0
            );
            x += item_width(text);
        }
    }
}

/// The sample, the text in a monospace font, and a gap before the next entry.
fn item_width(text: &str) -> f64 {
    16.0 + 6.6 * text.chars().count() as f64 + 18.0
}

/// A mark as the picture draws it, without its tooltip, in a 10-wide box at `x`.
fn draw_mark(svg: &mut String, mark: Mark, x: f64, y: f64) {
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
        Mark::Timer => {
            clock_face(svg, cx, y);
            Ok(())
        }
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
        Mark::Steal => writeln!(
            svg,
            r##"<g stroke="{STEAL}" fill="{STEAL}"><circle cx="{cx:.1}" cy="{:.1}" r="2" stroke="none"/><line x1="{cx:.1}" y1="{:.1}" x2="{cx:.1}" y2="{:.1}" stroke-width="1.5"/><path d="M {cx:.1} {:.1} l -3.5 -6 l 7 0 z" stroke="none"/></g>"##,
            y - 7.0,
            y - 7.0,
            y + 2.0,
            y + 7.0
        ),
    };
}
