//! What a watcher reads: a [`Sample`] of the loop, and the [`RecentEvents`].
//!
//! Plain data, filled in by the loop (`observe/mod.rs`) on its own thread and
//! read on the watcher's: the console encodes it as JSON, a test asserts on it.

use std::time::{Duration, Instant};

use crate::runtime::Metrics;
use crate::task::TaskInfo;
use crate::trace::{Event, WakeSource};

/// What [`Observer::take_events`](super::Observer::take_events) returns.
#[derive(Debug, Clone, Default)]
pub struct RecentEvents {
    /// The events, oldest first.
    pub events: Vec<Event>,
    /// Events that were dropped because nobody took them in time.
    pub dropped: u64,
}

/// The runtime at one moment, as the loop saw it.
#[derive(Debug, Clone)]
pub struct Sample {
    /// When the loop took it (real time): a watcher compares it with now to
    /// see a loop that stopped answering.
    pub taken_at: Instant,
    /// The runtime's clock then (virtual when paused).
    pub clock: Duration,
    /// The counters.
    pub metrics: Metrics,
    /// Every live task (the `block_on` future first, as id 0 `main`, once it
    /// has been polled), by id.
    pub tasks: Vec<TaskSample>,
    /// How many tasks step 1 found ready, in each of the recent turns (at
    /// most [`RECENT_TURNS`](super::RECENT_TURNS), oldest first; turns with none are not counted).
    pub run_queue: Vec<usize>,
    /// Timers waiting in the wheel.
    pub timers: usize,
    /// Occupied slots per wheel level, level 0 (1 ms slots) first.
    pub wheel_occupancy: Vec<u32>,
    /// When the loop will next look at the wheel (the earliest deadline, or
    /// the start of the slot that holds it), since the runtime started.
    pub next_deadline: Option<Duration>,
    /// Registered I/O sources, all of them.
    pub source_count: usize,
    /// The first [`MAX_SOURCES`](super::MAX_SOURCES) of them.
    pub sources: Vec<SourceSample>,
    /// The most recent slow polls, oldest first.
    pub slow_polls: Vec<SlowPoll>,
    /// How long a poll must take to count as slow.
    pub slow_poll_threshold: Duration,
}

/// One live task in a [`Sample`].
#[derive(Debug, Clone)]
pub struct TaskSample {
    /// Id, name, state, and what it waits on (as `Runtime::tasks` reports).
    pub info: TaskInfo,
    /// Times it was polled.
    pub polls: u64,
    /// Time spent in its polls (real time).
    pub busy: Duration,
    /// When its last poll began, on the runtime's clock.
    pub last_poll: Option<Duration>,
    /// Who woke it last.
    pub woken_by: Option<WakeSource>,
    /// Its polls that took the slow-poll threshold or longer.
    pub slow_polls: u64,
    /// Its longest poll.
    pub longest_poll: Duration,
}

/// One registered I/O source in a [`Sample`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceSample {
    /// Its token: `io#N` in the trace and in a task's wait reason.
    pub token: usize,
    /// A read would not block, as far as the reactor knows.
    pub readable: bool,
    /// A write would not block.
    pub writable: bool,
    /// Tasks waiting to read (or accept).
    pub readers: usize,
    /// Tasks waiting for room to write.
    pub writers: usize,
}

/// A poll that held the loop at least the slow-poll threshold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlowPoll {
    /// The task (0: the `block_on` future).
    pub task: u64,
    /// Its name, or `task-N`.
    pub name: String,
    /// When the poll began, on the runtime's clock.
    pub at: Duration,
    /// How long it held the loop (real time).
    pub took: Duration,
}
