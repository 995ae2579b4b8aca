//! The text timeline: one line per event, for a terminal or a test (the
//! format is shown on [`Trace::timeline`]).
//!
//! The lesson tests compare timelines byte for byte, so the text must be the
//! same on every run of the same program under a paused clock: the times
//! are virtual, and anything measured in real time (how long a poll took,
//! how long a slow poll held the loop) is left out when the clock is paused.
//!
//! On a multi-thread runtime (`Builder::worker_threads`) each event that
//! happened on a worker thread says which, after the time: `[w1] poll  t7 →
//! Ready`. Events with no prefix happened elsewhere — the `block_on` future's
//! thread, a blocking job. An idle worker taking tasks from a busy one's
//! queue is a `steal` line, thief first, as a wake names the woken first:
//! `[w1] steal  w1 ← w0: 3 tasks`.

use std::fmt::Write as _;

use super::{readiness, EventKind, Trace};

/// `trace` as text; see [`Trace::timeline`].
pub(super) fn render(trace: &Trace) -> String {
    let mut out = String::new();
    for e in &trace.events {
        let _ = write!(out, "{:>9.3}s  ", e.at.as_secs_f64());
        // A multi-thread runtime's events say which worker they happened on.
        if let Some(worker) = e.worker {
            let _ = write!(out, "[w{worker}] ");
        }
        let _ = match &e.kind {
            EventKind::Spawn { task, .. } => write!(out, "spawn  {}", trace.name(*task)),
            EventKind::Poll {
                task,
                outcome,
                took,
            } => {
                let _ = write!(out, "poll   {} → {outcome:?}", trace.name(*task));
                if trace.paused {
                    Ok(())
                } else {
                    write!(out, " ({} µs)", took.as_micros())
                }
            }
            EventKind::Wake { task, by } => {
                write!(out, "wake   {} ← {}", trace.name(*task), trace.by(*by))
            }
            EventKind::Io {
                token,
                readable,
                writable,
            } => {
                let ready = readiness(*readable, *writable);
                write!(out, "io     io#{token}{ready}")
            }
            EventKind::Steal { from, to, tasks } => {
                let s = if *tasks == 1 { "" } else { "s" };
                write!(out, "steal  w{to} ← w{from}: {tasks} task{s}")
            }
            EventKind::Park { timeout: Some(t) } => {
                write!(out, "park   for up to {:.3}s", t.as_secs_f64())
            }
            EventKind::Park { timeout: None } => write!(out, "park   until I/O or a wake"),
            EventKind::ClockJump { to } => {
                write!(out, "clock  jumps to {:.3}s", to.as_secs_f64())
            }
            EventKind::DropPanic { task } => {
                write!(
                    out,
                    "PANIC  dropping the output of {} (contained)",
                    trace.name(*task)
                )
            }
            EventKind::SlowPoll { task, took } => {
                let _ = write!(out, "SLOW   {} held the loop ", trace.name(*task));
                if trace.paused {
                    // Real time, which varies run to run: left out, as for polls.
                    write!(out, "(in real time; the paused clock stood still)")
                } else {
                    write!(out, "{:.3}s", took.as_secs_f64())
                }
            }
        };
        out.push('\n');
    }
    out
}
