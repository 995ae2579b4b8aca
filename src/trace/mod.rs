//! Trace: every spawn, poll, wake, timer and I/O event, in order.
//!
//! Turn it on with `Builder::trace(true)`; read it with `rt.trace()`. Off, it
//! costs one branch per event site. On, each event is stamped with the
//! runtime's clock (virtual when paused) and names its task; a wake also says
//! *who* woke the task — a timer, an I/O source, another task, the `block_on`
//! future, or another thread — the question learners ask most.
//!
//! Three renderings:
//!
//! - [`Trace::timeline`]: text for a terminal or a test (byte for byte the
//!   same on every run under a paused clock);
//! - [`Trace::to_svg`]: a picture of the run — one lane per task, polls as
//!   bars, an arrow from whoever woke a task to the task — as the book draws
//!   every lesson (the drawing lives in `svg/`);
//! - [`Trace::to_chrome_json`]: Chrome Trace Event JSON: open it in
//!   <https://ui.perfetto.dev> to zoom through a long run, one lane per task.

mod svg;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

/// One thing that happened in the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// When, on the runtime's clock, since it started (a poll: when it began).
    pub at: Duration,
    /// What.
    pub kind: EventKind,
}

/// The kinds of event. Task 0 is the `block_on` future, shown as `main`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// A task was created and queued.
    Spawn {
        /// The new task's id.
        task: u64,
        /// Its name, if it was given one.
        name: Option<String>,
    },
    /// A task was polled once.
    Poll {
        /// Which task (0: the `block_on` future).
        task: u64,
        /// What the poll returned.
        outcome: PollOutcome,
        /// How long the poll held the thread: real time, even under a paused clock.
        took: Duration,
    },
    /// A task was woken and queued.
    Wake {
        /// Which task (0: the `block_on` future).
        task: u64,
        /// Who woke it.
        by: WakeSource,
    },
    /// The reactor reported a source ready.
    Io {
        /// The source's token (`io#N`).
        token: usize,
        /// Reads may now make progress (or see EOF / an error).
        readable: bool,
        /// Writes may now make progress.
        writable: bool,
    },
    /// Nothing was ready: the loop parked in the reactor.
    Park {
        /// At most this long; `None`: until I/O or a wake from another thread.
        timeout: Option<Duration>,
    },
    /// The paused clock jumped ahead to the next timer's deadline.
    ClockJump {
        /// The new clock reading, since the runtime started.
        to: Duration,
    },
    /// A poll held the thread longer than `slow_poll_threshold`.
    SlowPoll {
        /// The task that blocked the loop.
        task: u64,
        /// For how long (real time).
        took: Duration,
    },
}

/// How a poll ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollOutcome {
    /// The future is waiting; something holds its waker.
    Pending,
    /// The future finished.
    Ready,
    /// The future panicked; the panic became a `JoinError`.
    Panicked,
    /// The task was aborted; its future was dropped instead of polled.
    Cancelled,
}

/// Who woke a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WakeSource {
    /// Another task, while it was being polled (a channel send, a JoinHandle, `yield_now`).
    Task(u64),
    /// The `block_on` future, while it was being polled.
    Main,
    /// A timer fired (step 5).
    Timer,
    /// An I/O source became ready (step 4).
    Io(usize),
    /// Code on another thread: a `spawn_blocking` job, a `std::thread`.
    OtherThread,
    /// The runtime thread, outside any poll (e.g. `abort` between turns).
    Runtime,
}

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
    pub fn timeline(&self) -> String {
        let mut out = String::new();
        for e in &self.events {
            let _ = write!(out, "{:>9.3}s  ", e.at.as_secs_f64());
            let _ = match &e.kind {
                EventKind::Spawn { task, .. } => write!(out, "spawn  {}", self.name(*task)),
                EventKind::Poll {
                    task,
                    outcome,
                    took,
                } => {
                    let _ = write!(out, "poll   {} → {outcome:?}", self.name(*task));
                    if self.paused {
                        Ok(())
                    } else {
                        write!(out, " ({} µs)", took.as_micros())
                    }
                }
                EventKind::Wake { task, by } => {
                    write!(out, "wake   {} ← {}", self.name(*task), self.by(*by))
                }
                EventKind::Io {
                    token,
                    readable,
                    writable,
                } => {
                    let r = if *readable { " readable" } else { "" };
                    let w = if *writable { " writable" } else { "" };
                    write!(out, "io     io#{token}{r}{w}")
                }
                EventKind::Park { timeout: Some(t) } => {
                    write!(out, "park   for up to {:.3}s", t.as_secs_f64())
                }
                EventKind::Park { timeout: None } => write!(out, "park   until I/O or a wake"),
                EventKind::ClockJump { to } => {
                    write!(out, "clock  jumps to {:.3}s", to.as_secs_f64())
                }
                EventKind::SlowPoll { task, took } => {
                    let _ = write!(out, "SLOW   {} held the loop ", self.name(*task));
                    if self.paused {
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
    pub fn to_chrome_json(&self) -> String {
        use serde_json::{json, Value};
        let us = |d: &Duration| d.as_secs_f64() * 1e6;
        let mut out: Vec<Value> = Vec::new();
        let mut lanes: Vec<(&u64, &String)> = self.names.iter().collect();
        lanes.sort();
        for (id, name) in lanes {
            let name = if *id == 0 {
                "event loop / main".to_string()
            } else {
                name.clone()
            };
            out.push(json!({"ph": "M", "name": "thread_name", "pid": 1, "tid": id, "args": {"name": name}}));
        }
        for e in &self.events {
            let ts = us(&e.at);
            let instant = |name: &str, tid: u64, args: Value| json!({"ph": "i", "s": "t", "name": name, "ts": ts, "pid": 1, "tid": tid, "args": args});
            out.push(match &e.kind {
                EventKind::Spawn { task, .. } => instant("spawn", *task, json!({})),
                EventKind::Poll { task, outcome, took } => json!({
                    "ph": "X", "name": "poll", "ts": ts, "dur": us(took).max(1.0), "pid": 1, "tid": task,
                    "args": {"outcome": format!("{outcome:?}")}
                }),
                EventKind::Wake { task, by } => instant("wake", *task, json!({"by": self.by(*by)})),
                EventKind::Io { token, readable, writable } => {
                    instant("io", 0, json!({"token": token, "readable": readable, "writable": writable}))
                }
                EventKind::Park { timeout } => {
                    instant("park", 0, json!({"timeout_ms": timeout.map(|t| t.as_secs_f64() * 1e3)}))
                }
                EventKind::ClockJump { to } => instant("clock jump", 0, json!({"to_s": to.as_secs_f64()})),
                EventKind::SlowPoll { task, took } => {
                    instant("slow poll", *task, json!({"took_ms": took.as_secs_f64() * 1e3}))
                }
            });
        }
        json!({"traceEvents": out, "displayTimeUnit": "ms"}).to_string()
    }
}
