//! Trace: every spawn, poll, wake, timer and I/O event, in order.
//!
//! Turn it on with `Builder::trace(true)`; read it with `rt.trace()`. Off, it
//! costs one branch per event site. On, each event is stamped with the
//! runtime's clock (virtual when paused) and names its task; a wake also says
//! *who* woke the task — a timer, an I/O source, another task, the `block_on`
//! future, or another thread — the question learners ask most. On a
//! multi-thread runtime each event also says which worker thread it happened
//! on ([`Event::worker`]), and a steal between workers is an event of its own.
//!
//! Three renderings:
//!
//! - [`Trace::timeline`]: text for a terminal or a test (byte for byte the
//!   same on every run under a paused clock);
//! - [`Trace::to_svg`]: a picture of the run — one lane per task, polls as
//!   bars, an arrow from whoever woke a task to the task — as the book draws
//!   every lesson (the drawing lives in `svg/`); a multi-thread run adds a
//!   lane per worker, with the polls it ran and an arrow for each steal;
//! - [`Trace::to_chrome_json`]: Chrome Trace Event JSON: open it in
//!   <https://ui.perfetto.dev> to zoom through a long run, one lane per task
//!   (and per worker, on a multi-thread run).
//!
//! The files: `event.rs` is the event model ([`Event`], [`EventKind`],
//! [`PollOutcome`], [`WakeSource`]); `timeline.rs`, `svg/` and `chrome.rs`
//! are the three renderings; this file holds [`Trace`], what they all read.
//!
//! The trace imports nothing from the rest of the crate. The runtime depends
//! on it — it builds `Event`s as it turns and hands the list to
//! `Trace::new` — and never the other way round, so the trace can be read,
//! tested and rendered without a runtime.

mod chrome;
mod event;
mod svg;
mod timeline;

pub use event::{Event, EventKind, PollOutcome, WakeSource};

use std::collections::HashMap;

/// A snapshot of the events recorded so far.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    events: Vec<Event>,
    names: HashMap<u64, String>,
    paused: bool,
}

impl Trace {
    pub(crate) fn new(events: Vec<Event>, paused: bool) -> Trace {
        let mut names = HashMap::new();
        names.insert(0, "main".to_string());
        for e in &events {
            if let EventKind::Spawn { task, name } = &e.kind {
                names.insert(
                    *task,
                    name.clone().unwrap_or_else(|| format!("task-{task}")),
                );
            }
        }
        Trace {
            events,
            names,
            paused,
        }
    }

    /// The events, in the order they happened.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// A task's display name: its name, or `task-N`; `main` for the `block_on` future.
    pub fn name(&self, task: u64) -> String {
        self.names
            .get(&task)
            .cloned()
            .unwrap_or_else(|| format!("task-{task}"))
    }

    /// One line per event: time, what, which task, details.
    ///
    /// ```text
    ///     0.000s  spawn  worker-a
    ///     0.000s  poll   worker-a → Pending
    ///     2.000s  clock  jumps to 2.000s
    ///     2.000s  wake   worker-a ← timer
    /// ```
    /// Under a paused clock, real durations (how long a poll took, how long a
    /// slow poll held the loop) are left out, so the same program gives the
    /// same timeline on every run.
    ///
    /// On a multi-thread runtime, an event on a worker thread names it, and
    /// an idle worker's steal from a busy one has a line of its own:
    ///
    /// ```text
    ///     0.004s  [w0] poll   spawner → Pending
    ///     0.004s  [w1] steal  w1 ← w0: 3 tasks
    ///     0.004s  [w1] poll   t12 → Ready
    /// ```
    pub fn timeline(&self) -> String {
        timeline::render(self)
    }

    fn by(&self, by: WakeSource) -> String {
        match by {
            // "task ada", but "task-3" rather than "task task-3".
            WakeSource::Task(id) => match self.name(id) {
                name if name == format!("task-{id}") => name,
                name => format!("task {name}"),
            },
            WakeSource::Main => "main".to_string(),
            WakeSource::Timer => "timer".to_string(),
            WakeSource::Io(token) => format!("io#{token}"),
            WakeSource::OtherThread => "another thread".to_string(),
            WakeSource::Runtime => "the runtime".to_string(),
        }
    }

    /// The run as an SVG picture: a timeline with one lane per task (`main`
    /// first), each poll a bar coloured by its outcome, each wake an arrow from
    /// whoever woke the task — another task's lane, or a `timers`, `I/O` or
    /// `other thread` row — and each jump of the paused clock a dashed line.
    /// A run of a multi-thread runtime also gets a lane per worker thread
    /// (`worker 0`, `worker 1`, ...) above the tasks: each poll is drawn again
    /// on the lane of the worker that ran it, and each steal is an arrow from
    /// the robbed worker's lane to the thief's.
    ///
    /// Columns are *events*, not seconds: under a paused clock a poll takes no
    /// virtual time, so the picture gives every event a column in the order it
    /// happened, and the axis marks the clock reading wherever it changes.
    /// Like [`timeline`](Self::timeline), the output leaves out real durations,
    /// so a paused run draws the same file, byte for byte, every time.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = evloop::Runtime::builder().start_paused(true).trace(true).build()?;
    /// rt.block_on(async {
    ///     let a = evloop::task::Builder::new()
    ///         .name("sleeper")
    ///         .spawn(evloop::time::sleep(Duration::from_secs(2)));
    ///     a.await.unwrap();
    /// });
    /// let svg = rt.trace().to_svg();
    /// assert!(svg.starts_with("<svg") && svg.contains(">sleeper</text>"));
    /// // std::fs::write("run.svg", svg)?; then open run.svg in a browser
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn to_svg(&self) -> String {
        svg::render(self)
    }

    /// Chrome Trace Event JSON (open in Perfetto or `chrome://tracing`):
    /// one lane per task with its polls as bars, wakes and spawns as marks
    /// in the woken task's lane, and the loop's own events (parks, clock jumps,
    /// I/O) in lane 0, "event loop".
    ///
    /// A run of a multi-thread runtime adds a second group of lanes,
    /// "workers", one per worker thread: the polls each ran (named after the
    /// task), its parks and I/O, and each steal as a mark on the thief's lane.
    pub fn to_chrome_json(&self) -> String {
        chrome::render(self)
    }
}

/// What an I/O event made ready, as the timeline and the picture both say
/// it: `" readable writable"`, `" readable"`, `" writable"` (or nothing).
fn readiness(readable: bool, writable: bool) -> &'static str {
    match (readable, writable) {
        (true, true) => " readable writable",
        (true, false) => " readable",
        (false, true) => " writable",
        (false, false) => "",
    }
}

#[cfg(test)]
mod tests;
