//! `ScheduledIo`: one source's readiness and the tasks waiting on it.
//!
//! The reactor (`reactor.rs`) keeps one of these per registered socket and
//! explains the rules they follow (edge-triggered readiness, the tick, closed
//! is forever, waiter lists). This file is the state those rules act on:
//! readiness bits and a tick in one atomic word (read without a lock on
//! every I/O call), and a list of waiters per direction behind one small lock
//! (taken only to wait, or to wake). Nothing here drops a waker: waiters
//! leave only by being moved out, so the caller can wake them after every
//! lock is released.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
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
///
/// The readiness bits, the tick and the shut-down flag share one atomic word,
/// so the common case — an I/O call on a socket that is ready — costs one
/// atomic load, no lock. Only a task that must *wait* takes the lock, to join
/// a waiter list; an edge takes it to hand the waiters over.
pub(super) struct ScheduledIo {
    /// `tick << 32 | SHUT_DOWN? | ready bits` (see [`Word`]).
    word: AtomicU64,
    waiters: Mutex<Waiters>,
}

/// The word's low bits: readiness (`READABLE | WRITABLE | *_CLOSED`) and
/// `SHUT_DOWN`; its high 32 bits: the tick, bumped by every event so a clear
/// can tell whether it is stale.
const SHUT_DOWN: u64 = 0b1_0000;
const TICK_SHIFT: u32 = 32;

/// The word, read apart.
#[derive(Clone, Copy)]
struct Word(u64);

impl Word {
    fn ready(self) -> u8 {
        (self.0 & 0b1111) as u8
    }
    fn tick(self) -> u32 {
        (self.0 >> TICK_SHIFT) as u32
    }
    fn shut_down(self) -> bool {
        self.0 & SHUT_DOWN != 0
    }
}

#[derive(Default)]
struct Waiters {
    /// Wakers of the tasks waiting to read (or accept) on this source.
    readers: Vec<Waker>,
    /// Wakers of the tasks waiting for room to write.
    writers: Vec<Waker>,
}

impl ScheduledIo {
    /// A new source is assumed ready: the first I/O call is tried, never waited for.
    pub(super) fn new() -> ScheduledIo {
        ScheduledIo {
            word: AtomicU64::new(u64::from(READABLE | WRITABLE)),
            waiters: Mutex::new(Waiters::default()),
        }
    }

    fn load(&self) -> Word {
        Word(self.word.load(Ordering::Acquire))
    }

    fn lock(&self) -> MutexGuard<'_, Waiters> {
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ready in `dir` (or shut down), as the word says?
    fn check(word: Word, dir: Direction) -> Option<io::Result<u32>> {
        if word.shut_down() {
            return Some(Err(runtime_gone()));
        }
        (word.ready() & dir.ready_mask() != 0).then_some(Ok(word.tick()))
    }

    /// Ready in `dir`? `Ready(Ok(tick))` if so; an error once the runtime is
    /// gone; else join the waiters and return `Pending`.
    #[inline]
    pub(super) fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<io::Result<u32>> {
        // The fast path, inlined into every read and write: one load.
        let word = self.load();
        if !word.shut_down() && word.ready() & dir.ready_mask() != 0 {
            return Poll::Ready(Ok(word.tick()));
        }
        self.wait_ready(cx, dir)
    }

    /// Not ready (or shut down): join the waiters. Out of line, so that the
    /// fast path above stays a few instructions.
    #[inline(never)]
    fn wait_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<io::Result<u32>> {
        let mut waiters = self.lock();
        // Look again under the lock: an edge sets the word *before* it locks
        // to take the waiters, so either we see its bits now, or it sees our
        // waker once we unlock. Never neither: no lost wake.
        if let Some(ready) = Self::check(self.load(), dir) {
            return Poll::Ready(ready);
        }
        // Add our waker unless this task is already waiting. Nothing is
        // replaced, so nothing is dropped under the lock.
        let list = match dir {
            Direction::Read => &mut waiters.readers,
            Direction::Write => &mut waiters.writers,
        };
        if !list.iter().any(|w| w.will_wake(cx.waker())) {
            list.push(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Clear readiness in `dir`, unless an event arrived since `tick`.
    pub(super) fn clear_readiness(&self, dir: Direction, tick: u32) {
        let mut current = self.word.load(Ordering::Acquire);
        // A compare-and-swap, so a concurrent edge (which bumps the tick) is
        // never overwritten: if the tick moved, the edge stands.
        while Word(current).tick() == tick {
            let cleared = current & !u64::from(dir.bit());
            match self.word.compare_exchange_weak(
                current,
                cleared,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    /// An edge: set `bits` (from [`event_bits`]), bump the tick, and hand
    /// every waiter of each direction that became ready to `take`.
    pub(super) fn set_ready(&self, bits: u8, mut take: impl FnMut(Waker)) {
        // Word first, then the lock (see `poll_ready`). Adding `1 << 32` bumps
        // the tick; it wraps by overflowing out of the top, as a `u32` would.
        let _ = self
            .word
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
                Some(w.wrapping_add(1 << TICK_SHIFT) | u64::from(bits))
            });
        let mut waiters = self.lock();
        // `drain` keeps each list's capacity: the next wait on this socket
        // pushes without allocating.
        if bits & Direction::Read.ready_mask() != 0 && !waiters.readers.is_empty() {
            waiters.readers.drain(..).for_each(&mut take);
        }
        if bits & Direction::Write.ready_mask() != 0 && !waiters.writers.is_empty() {
            waiters.writers.drain(..).for_each(&mut take);
        }
    }

    /// Move every waiter, both directions, into `out`; with `shut_down`,
    /// also make every later [`poll_ready`](Self::poll_ready) fail.
    pub(super) fn take_waiters(&self, out: &mut Vec<Waker>, shut_down: bool) {
        if shut_down {
            self.word.fetch_or(SHUT_DOWN, Ordering::AcqRel);
        }
        let mut waiters = self.lock();
        out.append(&mut waiters.readers);
        out.append(&mut waiters.writers);
    }

    /// Ready to read, ready to write, readers waiting, writers waiting: what
    /// a live view shows of this source.
    pub(super) fn describe(&self) -> (bool, bool, usize, usize) {
        let ready = self.load().ready();
        let waiters = self.lock();
        (
            ready & Direction::Read.ready_mask() != 0,
            ready & Direction::Write.ready_mask() != 0,
            waiters.readers.len(),
            waiters.writers.len(),
        )
    }

    /// How many wakers wait in `dir` (for tests).
    #[cfg(test)]
    pub(super) fn waiters(&self, dir: Direction) -> usize {
        let waiters = self.lock();
        match dir {
            Direction::Read => waiters.readers.len(),
            Direction::Write => waiters.writers.len(),
        }
    }

    /// Is the lock held right now (for tests that check no waker is woken
    /// or dropped under it)?
    #[cfg(test)]
    pub(super) fn is_locked(&self) -> bool {
        self.waiters.try_lock().is_err()
    }
}
