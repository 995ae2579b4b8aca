//! The event model: what the runtime records, one [`Event`] per thing that
//! happened.
//!
//! The runtime writes these as it turns (a spawn in `spawn`, a poll in step
//! 1, I/O and parks in step 4, clock jumps and timer wakes in step 5); the
//! renderings beside this file read them. They are plain data, so this file
//! needs nothing from the rest of the crate: the runtime depends on the
//! trace, never the other way round.

use std::time::Duration;

/// One thing that happened in the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// When, on the runtime's clock, since it started (a poll: when it began).
    pub at: Duration,
    /// What.
    pub kind: EventKind,
    /// Which worker thread it happened on, on a multi-thread runtime
    /// (`Builder::worker_threads`): `Some(0)` for `evloop-worker-0`. `None`
    /// on the one-thread loop, and on a thread that is not a worker (the
    /// `block_on` thread, a blocking job).
    pub worker: Option<usize>,
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
    /// An idle worker of a multi-thread runtime took tasks from another's
    /// queue (up to half of it) and is about to run the first.
    Steal {
        /// The worker robbed.
        from: usize,
        /// The worker that stole.
        to: usize,
        /// How many tasks it took.
        tasks: usize,
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
    /// Dropping a finished task's output panicked, and nobody awaited it
    /// (a detached task, or a `JoinHandle` dropped unread): the panic was
    /// contained and logged instead of reaching the loop.
    DropPanic {
        /// The task whose output it was.
        task: u64,
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
