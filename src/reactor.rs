//! The reactor: `mio::Poll` and the I/O sources registered with it.
//!
//! Step 4 of every turn asks the OS (epoll on Linux, kqueue on macOS, through
//! mio) "which of my sockets became ready?", sleeping until one does or until
//! the next timer is due. For each event the reactor marks the source ready
//! and wakes the task that was waiting on it. The lesson on the reactor draws
//! this; here is the discipline that makes it correct.
//!
//! ## Edge-triggered readiness
//!
//! mio reports *edges*: "this socket went from not-readable to readable", once.
//! It does not repeat itself while data sits unread. So the rule is:
//!
//! 1. **Try the I/O call first.** A new source starts out marked ready, and a
//!    read is attempted before anyone waits.
//! 2. **Only `WouldBlock` clears readiness** — and only then is the task's
//!    waker stored and `Pending` returned. A read that got data leaves the
//!    source marked ready: there may be more, and no new edge will say so.
//! 3. **Readiness carries a tick**, bumped by every event. Clearing says "clear
//!    it if nothing happened since I looked"; an edge that arrived between our
//!    `WouldBlock` and our clear is kept, not lost.
//! 4. **Closed is forever.** When an event says the peer closed (or the
//!    socket failed), a *closed* bit is set that clearing never removes. That
//!    edge comes once; afterwards every call returns at once (`Ok(0)`, the
//!    error). So a caller that clears readiness early — `net` does after a
//!    short read, which usually means "drained", to save a syscall — is never
//!    left waiting for an edge that already came.
//!
//! No lost edges (rules 2, 3 and 4), and no busy loop (rule 2: we only retry
//! after an edge). Readers and writers have separate wakers, so a read half
//! and a write half of one socket can wait in two different tasks.

use std::cell::{Cell, RefCell};
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use mio::{Interest, Token};

use crate::runtime::context;
use crate::runtime::core::Activity;
use crate::runtime::shared::Shared;
use crate::trace::EventKind;

/// The token of the `mio::Waker` that interrupts a parked loop; never a source's.
pub(crate) const WAKE_TOKEN: Token = Token(usize::MAX);

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
    fn ready_mask(self) -> u8 {
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

/// The loop thread's side: the poller and its event buffer.
pub(crate) struct Reactor {
    poll: RefCell<mio::Poll>,
    events: RefCell<mio::Events>,
    handle: Arc<Handle>,
    /// Wakers collected while the sources lock is held, woken after it is released.
    wakeups: RefCell<Vec<(usize, Waker)>>,
}

/// The part every registration holds: how to (de)register, and the slab.
pub(crate) struct Handle {
    registry: mio::Registry,
    sources: Mutex<Slab>,
    /// Number of live sources, read without the lock (step 4 skips the
    /// syscall when there are none and no time to wait).
    live: AtomicUsize,
}

/// Sources by token: a `Vec` of slots plus a free list, so tokens are reused.
#[derive(Default)]
struct Slab {
    slots: Vec<Option<Arc<ScheduledIo>>>,
    free: Vec<usize>,
}

/// One registered source's readiness and the tasks waiting on it.
#[derive(Default)]
struct ScheduledIo {
    state: Mutex<IoState>,
}

#[derive(Default)]
struct IoState {
    /// `READABLE | WRITABLE` bits: "an I/O call might not block".
    ready: u8,
    /// Bumped by every event, so a clear can tell whether it is stale.
    tick: u32,
    reader: Option<Waker>,
    writer: Option<Waker>,
}

impl Reactor {
    pub(crate) fn new(poll: mio::Poll) -> io::Result<Reactor> {
        let registry = poll.registry().try_clone()?;
        Ok(Reactor {
            poll: RefCell::new(poll),
            events: RefCell::new(mio::Events::with_capacity(1024)),
            handle: Arc::new(Handle {
                registry,
                sources: Mutex::default(),
                live: AtomicUsize::new(0),
            }),
            wakeups: RefCell::new(Vec::new()),
        })
    }

    /// The registry, to create the cross-thread `mio::Waker` with.
    pub(crate) fn registry(&self) -> &mio::Registry {
        &self.handle.registry
    }

    /// Take every waiting waker out of every source (the runtime is being
    /// dropped). A task waiting on a socket is kept alive by its waker here,
    /// while its future keeps the socket's registration alive: a cycle. The
    /// caller drops these wakers, which drops such tasks, their futures, and
    /// so their sockets — a listener dropped with its runtime closes its port.
    pub(crate) fn take_all_wakers(&self) -> Vec<Waker> {
        let sources = lock(&self.handle.sources);
        let mut wakers = Vec::new();
        for io in sources.slots.iter().flatten() {
            let mut state = lock(&io.state);
            wakers.extend(state.reader.take());
            wakers.extend(state.writer.take());
        }
        wakers
    }

    /// Is any I/O source registered?
    pub(crate) fn has_sources(&self) -> bool {
        self.handle.live.load(Ordering::Acquire) > 0
    }

    /// Wait up to `timeout` for events, then mark their sources ready and wake
    /// their tasks. Returns the number of source events (the unpark wake-up
    /// does not count).
    pub(crate) fn poll(
        &self,
        timeout: Option<Duration>,
        activity: &Cell<Activity>,
        shared: &Shared,
    ) -> usize {
        let mut events = self.events.borrow_mut();
        let result = self.poll.borrow_mut().poll(&mut events, timeout);
        // Awake again *before* waking anyone: a wake while `parked` is still
        // set would write the eventfd for nothing, and the next poll would
        // return at once to read it — two wasted syscalls per park.
        shared.park_end();
        if let Err(e) = result {
            // A signal interrupted the wait: just a short turn.
            if e.kind() == io::ErrorKind::Interrupted {
                return 0;
            }
            panic!("evloop: the OS poller failed ({e}); the event loop cannot go on");
        }
        let mut wakeups = self.wakeups.borrow_mut();
        let mut count = 0;
        {
            let sources = lock(&self.handle.sources);
            for event in events.iter() {
                if event.token() == WAKE_TOKEN {
                    continue; // only there to end the wait
                }
                count += 1;
                let token = event.token().0;
                // Closed and error states count as ready: the next call will
                // return 0 or the error instead of blocking.
                let readable = event.is_readable() || event.is_read_closed() || event.is_error();
                let writable = event.is_writable() || event.is_write_closed() || event.is_error();
                shared.record(EventKind::Io {
                    token,
                    readable,
                    writable,
                });
                // A token with no source: it was dropped after the event was
                // queued. Nothing waits on it.
                if let Some(Some(io)) = sources.slots.get(token) {
                    let mut state = lock(&io.state);
                    state.tick = state.tick.wrapping_add(1);
                    if event.is_readable() {
                        state.ready |= READABLE;
                    }
                    if event.is_read_closed() || event.is_error() {
                        state.ready |= READ_CLOSED;
                    }
                    if event.is_writable() {
                        state.ready |= WRITABLE;
                    }
                    if event.is_write_closed() || event.is_error() {
                        state.ready |= WRITE_CLOSED;
                    }
                    if readable {
                        wakeups.extend(state.reader.take().map(|w| (token, w)));
                    }
                    if writable {
                        wakeups.extend(state.writer.take().map(|w| (token, w)));
                    }
                }
            }
        }
        for (token, waker) in wakeups.drain(..) {
            activity.set(Activity::Io(token));
            waker.wake();
        }
        activity.set(Activity::Idle);
        count
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// An I/O source's registration with the current runtime's reactor.
///
/// An I/O type (a `TcpStream`) owns one. It deregisters the source from the
/// slab when dropped; the owner must call [`Registration::deregister`] with
/// the mio source first (mio needs the source itself to remove it from epoll).
pub(crate) struct Registration {
    handle: Arc<Handle>,
    io: Arc<ScheduledIo>,
    token: usize,
}

impl Registration {
    /// Register `source` for `interest` with the current runtime's reactor.
    ///
    /// # Panics
    /// Outside a runtime.
    #[track_caller]
    pub(crate) fn new(
        source: &mut impl mio::event::Source,
        interest: Interest,
    ) -> io::Result<Registration> {
        let handle = context::with_core("registering an I/O source", |core| {
            core.reactor.handle.clone()
        });
        // A new source is assumed ready: the first I/O call is tried, never waited for.
        let io = Arc::new(ScheduledIo {
            state: Mutex::new(IoState {
                ready: READABLE | WRITABLE,
                ..IoState::default()
            }),
        });
        let token = {
            let mut slab = lock(&handle.sources);
            let token = slab.free.pop().unwrap_or(slab.slots.len());
            if token == slab.slots.len() {
                slab.slots.push(None);
            }
            slab.slots[token] = Some(io.clone());
            token
        };
        handle.live.fetch_add(1, Ordering::AcqRel);
        // From here on, dropping `reg` undoes all of the above.
        let reg = Registration { handle, io, token };
        reg.handle
            .registry
            .register(source, Token(token), interest)?;
        Ok(reg)
    }

    /// The token events for this source carry (shown in the trace as `io#N`).
    pub(crate) fn token(&self) -> usize {
        self.token
    }

    /// Ready in `dir`? If not, store the waker and return `Pending`.
    /// `Ready(tick)` gives the tick to pass to [`clear_readiness`](Self::clear_readiness).
    pub(crate) fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<u32> {
        let mut state = lock(&self.io.state);
        if state.ready & dir.ready_mask() != 0 {
            return Poll::Ready(state.tick);
        }
        let slot = match dir {
            Direction::Read => &mut state.reader,
            Direction::Write => &mut state.writer,
        };
        match slot {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// The call returned `WouldBlock`: clear readiness in `dir` — unless an
    /// event arrived since `tick`, in which case the edge is kept.
    pub(crate) fn clear_readiness(&self, dir: Direction, tick: u32) {
        let mut state = lock(&self.io.state);
        if state.tick == tick {
            state.ready &= !dir.bit();
        }
    }

    /// The edge-triggered discipline in one place: try `op`; on `WouldBlock`
    /// clear readiness and try again once ready; any other result is returned.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            let tick = match self.poll_ready(cx, dir) {
                Poll::Ready(tick) => tick,
                Poll::Pending => return Poll::Pending,
            };
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_readiness(dir, tick),
                result => return Poll::Ready(result),
            }
        }
    }

    /// Remove `source` from the OS poller. Call before dropping the source.
    pub(crate) fn deregister(&self, source: &mut impl mio::event::Source) -> io::Result<()> {
        self.handle.registry.deregister(source)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut slab = lock(&self.handle.sources);
        slab.slots[self.token] = None;
        slab.free.push(self.token);
        self.handle.live.fetch_sub(1, Ordering::AcqRel);
        // Wake anyone still waiting, so a task never waits on a source that is gone.
        let mut state = lock(&self.io.state);
        let wakers = [state.reader.take(), state.writer.take()];
        drop(state);
        drop(slab);
        wakers.into_iter().flatten().for_each(Waker::wake);
    }
}
