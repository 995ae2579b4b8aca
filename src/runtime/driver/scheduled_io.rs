//! `ScheduledIo`: one source's readiness and the tasks waiting on it.
//!
//! The reactor (`reactor.rs`) keeps one of these per registered socket and
//! explains the rules they follow (edge-triggered readiness, the tick, closed
//! is forever, waiter lists). This file is the state those rules act on:
//! readiness bits, a tick, and a list of waiters per direction, all behind
//! one small lock. Nothing here drops a waker: waiters leave only by being
//! moved out, so the caller can wake them after every lock is released.

use std::io;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// Which half of a source an operation uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    /// The bit an edge sets and a `WouldBlock` clears.
    fn bit(self) -> u8 {
        match self {
            Direction::Read => READABLE,
            Direction::Write => WRITABLE,
        }
    }

    /// Every bit that means "a call in this direction will not block".
    pub(super) fn ready_mask(self) -> u8 {
        match self {
            Direction::Read => READABLE | READ_CLOSED,
            Direction::Write => WRITABLE | WRITE_CLOSED,
        }
    }
}

const READABLE: u8 = 0b0001;
const WRITABLE: u8 = 0b0010;
/// The peer closed its side (or the socket failed). Unlike `READABLE`, this
/// is never cleared: a closed socket stays "ready" for good, since every later
/// read returns 0 (or the error) at once, and no new edge will ever come.
const READ_CLOSED: u8 = 0b0100;
const WRITE_CLOSED: u8 = 0b1000;

/// The readiness bits `event` reports. Closed and error states count as
/// ready: the next call will return 0 or the error instead of blocking.
pub(super) fn event_bits(event: &mio::event::Event) -> u8 {
    let mut bits = 0;
    if event.is_readable() {
        bits |= READABLE;
    }
    if event.is_read_closed() || event.is_error() {
        bits |= READ_CLOSED;
    }
    if event.is_writable() {
        bits |= WRITABLE;
    }
    if event.is_write_closed() || event.is_error() {
        bits |= WRITE_CLOSED;
    }
    bits
}

/// The error every call on a socket gets once its runtime is gone.
pub(super) fn runtime_gone() -> io::Error {
    io::Error::other(
        "the evloop runtime this socket belongs to was dropped; \
         a socket is served by the runtime it was created in, so keep that runtime alive",
    )
}

/// One registered source's readiness and the tasks waiting on it.
pub(super) struct ScheduledIo {
    state: Mutex<IoState>,
}

struct IoState {
    /// `READABLE | WRITABLE | *_CLOSED` bits: "an I/O call might not block".
    ready: u8,
    /// Bumped by every event, so a clear can tell whether it is stale.
    tick: u32,
    /// Wakers of the tasks waiting to read (or accept) on this source.
    readers: Vec<Waker>,
    /// Wakers of the tasks waiting for room to write.
    writers: Vec<Waker>,
    /// The runtime is gone: no edge will ever come, every call fails.
    shut_down: bool,
}

impl ScheduledIo {
    /// A new source is assumed ready: the first I/O call is tried, never waited for.
    pub(super) fn new() -> ScheduledIo {
        ScheduledIo {
            state: Mutex::new(IoState {
                ready: READABLE | WRITABLE,
                tick: 0,
                readers: Vec::new(),
                writers: Vec::new(),
                shut_down: false,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, IoState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ready in `dir`? `Ready(Ok(tick))` if so; an error once the runtime is
    /// gone; else join the waiters and return `Pending`.
    pub(super) fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<io::Result<u32>> {
        let mut state = self.lock();
        if state.shut_down {
            return Poll::Ready(Err(runtime_gone()));
        }
        if state.ready & dir.ready_mask() != 0 {
            return Poll::Ready(Ok(state.tick));
        }
        // Add our waker unless this task is already waiting. Nothing is
        // replaced, so nothing is dropped under the lock.
        let waiters = match dir {
            Direction::Read => &mut state.readers,
            Direction::Write => &mut state.writers,
        };
        if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
            waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Clear readiness in `dir`, unless an event arrived since `tick`.
    pub(super) fn clear_readiness(&self, dir: Direction, tick: u32) {
        let mut state = self.lock();
        if state.tick == tick {
            state.ready &= !dir.bit();
        }
    }

    /// An edge: set `bits` (from [`event_bits`]), bump the tick, and hand
    /// every waiter of each direction that became ready to `take`.
    pub(super) fn set_ready(&self, bits: u8, mut take: impl FnMut(Waker)) {
        let mut state = self.lock();
        state.tick = state.tick.wrapping_add(1);
        state.ready |= bits;
        // `drain` keeps each list's capacity: the next wait on this socket
        // pushes without allocating.
        if bits & Direction::Read.ready_mask() != 0 {
            state.readers.drain(..).for_each(&mut take);
        }
        if bits & Direction::Write.ready_mask() != 0 {
            state.writers.drain(..).for_each(&mut take);
        }
    }

    /// Move every waiter, both directions, into `out`; with `shut_down`,
    /// also make every later [`poll_ready`](Self::poll_ready) fail.
    pub(super) fn take_waiters(&self, out: &mut Vec<Waker>, shut_down: bool) {
        let mut state = self.lock();
        state.shut_down |= shut_down;
        out.append(&mut state.readers);
        out.append(&mut state.writers);
    }

    /// Ready to read, ready to write, readers waiting, writers waiting: what
    /// a live view shows of this source.
    pub(super) fn describe(&self) -> (bool, bool, usize, usize) {
        let state = self.lock();
        (
            state.ready & Direction::Read.ready_mask() != 0,
            state.ready & Direction::Write.ready_mask() != 0,
            state.readers.len(),
            state.writers.len(),
        )
    }

    /// How many wakers wait in `dir` (for tests).
    #[cfg(test)]
    pub(super) fn waiters(&self, dir: Direction) -> usize {
        let state = self.lock();
        match dir {
            Direction::Read => state.readers.len(),
            Direction::Write => state.writers.len(),
        }
    }

    /// Is the lock held right now (for tests that check no waker is woken
    /// or dropped under it)?
    #[cfg(test)]
    pub(super) fn is_locked(&self) -> bool {
        self.state.try_lock().is_err()
    }
}
