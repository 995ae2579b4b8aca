//! What a task is waiting on, and what [`Runtime::tasks`](crate::Runtime::tasks) reports.
//!
//! asyncio's `all_tasks()` lists the tasks; it cannot say what each one is
//! waiting for. evloop can: while a task is polled, the loop keeps a note on
//! its thread, and each *leaf* future that returns `Pending` — a sleep, a
//! socket, a channel, a `JoinHandle`, a blocking job — writes why on it. When
//! the poll ends `Pending`, the loop stores the note in the task's header.
//! A hang report ("these three tasks wait, on these things") and a live view
//! of the runtime both read it.

use std::cell::Cell;
use std::fmt;

thread_local! {
    /// What the task being polled on this thread waits on
    /// ([`WaitReason::encode`]), recorded by the first leaf future that
    /// returns `Pending` during the poll. This file imports nothing from the
    /// crate, so the leaves (`sync`, the drivers) may call it.
    static WAITING: Cell<u64> = const { Cell::new(0) };
}

/// A poll is about to start: forget the previous task's wait reason.
#[inline]
pub(crate) fn begin_record() {
    WAITING.with(|w| w.set(0));
}

/// A leaf future is returning `Pending` because of `reason`. The first one
/// recorded during a poll wins (in `timeout(d, read)`, the read).
#[inline]
pub(crate) fn record(reason: WaitReason) {
    let _ = WAITING.try_with(|w| {
        if w.get() == 0 {
            w.set(reason.encode());
        }
    });
}

/// The poll ended: what did it wait on?
#[inline]
pub(crate) fn end_record() -> WaitReason {
    WaitReason::decode(end_record_raw())
}

/// [`end_record`], still encoded ([`WaitReason::encode`]), to be stored.
#[inline]
pub(crate) fn end_record_raw() -> u64 {
    WAITING.with(|w| w.replace(0))
}

/// What a task waited on when its last poll returned `Pending`.
///
/// When a task waits on several things at once (a `select`, a `timeout`), the
/// first leaf polled names it: in `timeout(d, read)`, the read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitReason {
    /// Nothing a leaf recorded: the task has not been polled yet, it yielded
    /// (`yield_now`), or it waits on a future that is not evloop's.
    Unknown,
    /// A timer (`sleep`, `timeout`, `interval`), due at this tick (ms since
    /// the runtime started).
    Timer {
        /// The deadline, in 1 ms ticks since the runtime started.
        tick: u64,
    },
    /// A socket to become readable (`read`, `accept`).
    Readable {
        /// The reactor token of the socket (`io#N` in the trace).
        token: usize,
    },
    /// A socket to become writable (`write`, a full send buffer).
    Writable {
        /// The reactor token of the socket (`io#N` in the trace).
        token: usize,
    },
    /// A channel: a message to receive, or room to send.
    Channel,
    /// Another task to finish (awaiting its `JoinHandle`).
    Join {
        /// The id of the awaited task.
        task: u64,
    },
    /// A `spawn_blocking` job on the thread pool.
    Blocking,
    /// Permits of a `Semaphore` (an async lock, or a bound on work in flight).
    Semaphore,
    /// A `Notify`'s notification.
    Notify,
    /// Bytes, or room for them, on an in-memory connection (`testing::duplex`).
    Duplex,
}

/// Tags of the encoding: the low 3 bits of the stored `u64`.
const UNKNOWN: u64 = 0;
const TIMER: u64 = 1;
const READABLE: u64 = 2;
const WRITABLE: u64 = 3;
const CHANNEL: u64 = 4;
const JOIN: u64 = 5;
const BLOCKING: u64 = 6;
/// The last tag: the reasons without a payload, told apart by their payload.
const OTHER: u64 = 7;
const SEMAPHORE: u64 = 0;
const NOTIFY: u64 = 1;
const DUPLEX: u64 = 2;

impl WaitReason {
    /// Pack into one `u64` (tag in the low 3 bits, payload above), so the
    /// owned-task list keeps it in one word beside the task.
    pub(crate) fn encode(self) -> u64 {
        let (tag, payload) = match self {
            WaitReason::Unknown => (UNKNOWN, 0),
            WaitReason::Timer { tick } => (TIMER, tick),
            WaitReason::Readable { token } => (READABLE, token as u64),
            WaitReason::Writable { token } => (WRITABLE, token as u64),
            WaitReason::Channel => (CHANNEL, 0),
            WaitReason::Join { task } => (JOIN, task),
            WaitReason::Blocking => (BLOCKING, 0),
            WaitReason::Semaphore => (OTHER, SEMAPHORE),
            WaitReason::Notify => (OTHER, NOTIFY),
            WaitReason::Duplex => (OTHER, DUPLEX),
        };
        (payload << 3) | tag
    }

    /// The inverse of [`encode`](Self::encode).
    pub(crate) fn decode(word: u64) -> WaitReason {
        let payload = word >> 3;
        match word & 0b111 {
            TIMER => WaitReason::Timer { tick: payload },
            READABLE => WaitReason::Readable {
                token: payload as usize,
            },
            WRITABLE => WaitReason::Writable {
                token: payload as usize,
            },
            CHANNEL => WaitReason::Channel,
            JOIN => WaitReason::Join { task: payload },
            BLOCKING => WaitReason::Blocking,
            OTHER => match payload {
                SEMAPHORE => WaitReason::Semaphore,
                NOTIFY => WaitReason::Notify,
                DUPLEX => WaitReason::Duplex,
                _ => WaitReason::Unknown,
            },
            _ => WaitReason::Unknown,
        }
    }
}

impl fmt::Display for WaitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitReason::Unknown => f.write_str("nothing known"),
            WaitReason::Timer { tick } => write!(f, "a timer due at {tick} ms"),
            WaitReason::Readable { token } => write!(f, "io#{token} to be readable"),
            WaitReason::Writable { token } => write!(f, "io#{token} to be writable"),
            WaitReason::Channel => f.write_str("a channel"),
            WaitReason::Join { task } => write!(f, "task-{task} to finish"),
            WaitReason::Blocking => f.write_str("a blocking job"),
            WaitReason::Semaphore => f.write_str("a semaphore's permits"),
            WaitReason::Notify => f.write_str("a notification"),
            WaitReason::Duplex => f.write_str("an in-memory connection"),
        }
    }
}

/// Where a live task is in its life, read from its state word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskState {
    /// Waiting for a wake; see [`TaskInfo::waiting_on`].
    Idle,
    /// On the run queue: it will be polled this turn or the next.
    Scheduled,
    /// Being polled right now (only seen from inside a task).
    Running,
}

/// One live task, as [`Runtime::tasks`](crate::Runtime::tasks) reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskInfo {
    /// The task's id (`task-N`).
    pub id: u64,
    /// Its name, or `task-N`.
    pub name: String,
    /// Idle, scheduled or running.
    pub state: TaskState,
    /// What its last `Pending` poll waited on.
    pub waiting_on: WaitReason,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_survives_its_encoding() {
        for reason in [
            WaitReason::Unknown,
            WaitReason::Timer { tick: 123_456 },
            WaitReason::Readable { token: 7 },
            WaitReason::Writable { token: 0 },
            WaitReason::Channel,
            WaitReason::Join { task: 42 },
            WaitReason::Blocking,
        ] {
            assert_eq!(WaitReason::decode(reason.encode()), reason);
        }
    }
}
