//! The reactor: `mio::Poll` and the I/O sources registered with it.
//!
//! Step 4 of every turn asks the OS (epoll on Linux, kqueue on macOS, through
//! mio) "which of my sockets became ready?", sleeping until one does or until
//! the next timer is due. For each event the reactor marks the source ready
//! and hands back the wakers of the tasks that were waiting on it. The lesson
//! on the reactor draws this; here is the discipline that makes it correct.
//!
//! ## A leaf: it reports, the turn decides
//!
//! This file imports nothing from the rest of the runtime (nor from the
//! trace). [`Reactor::poll`] is only the syscall; [`Reactor::dispatch`] marks
//! readiness and passes each event and each waker to the caller. The turn
//! (`poll_reactor` in `runtime/turn.rs`) ends the park, writes the trace and
//! wakes the tasks, in one place where a reader can see the order. Each
//! source's state — readiness bits, tick, waiter lists — is a `ScheduledIo`
//! (`scheduled_io.rs`); this file holds the poller, the slab of sources, and
//! the `Registration` a socket owns.
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
//! after an edge).
//!
//! ## Waiters: a list per direction, all woken on an edge
//!
//! Several tasks may wait on one socket in one direction: fifty tasks calling
//! `accept()` on one shared listener, two tasks reading one `&TcpStream`.
//! Each source therefore keeps a *list* of wakers per direction (tokio's
//! `ScheduledIo` keeps one too); a single slot would let the second waiter
//! overwrite the first, which would then sleep forever beside a full backlog.
//!
//! An edge wakes **every** waiter in that direction. That is always correct:
//! a woken task simply tries its call again, and one that finds `WouldBlock`
//! (another task took the only connection) clears readiness and puts itself
//! back on the list. The price is a wasted poll per extra waiter per edge (the
//! "thundering herd"); waking just one would be cheaper but loses a wake-up
//! whenever the chosen task no longer wants the socket.
//!
//! A waiter is one waker, added by `poll_ready` unless one that
//! [`will_wake`](Waker::will_wake) the same task is already there, so a task
//! polled again and again holds one entry. A future dropped before its edge
//! (a `select` that another branch won) leaves its waker behind: the next
//! edge wakes that task once for nothing, which is harmless — a task is always
//! allowed a spurious wake (until then the waker keeps the task's allocation
//! alive, nothing more). The lists stay bounded because every edge in a
//! direction empties that direction's list (and dropping the source empties
//! both): between two edges a list holds at most one entry per waker that
//! waited since the last edge.
//!
//! ## No waker is dropped while a lock is held
//!
//! Dropping a waker may drop the last reference to a task, whose future's
//! destructors close sockets — which take the reactor's locks. Dropped under
//! one of those locks, that would deadlock. So every path here *moves* wakers
//! out under the lock, releases it, and only then wakes (or drops) them.
//!
//! ## When the runtime is gone
//!
//! A socket can outlive its runtime (it was moved out, or kept in an `Arc`).
//! No one will ever poll this reactor again, so no edge will ever come: the
//! runtime's drop calls [`IoHandle::shutdown`], which wakes every waiter, and
//! from then on every call on one of its sockets fails with an error instead
//! of waiting forever.

use std::cell::RefCell;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use mio::{Interest, Token};

pub(crate) use super::scheduled_io::Direction;
use super::scheduled_io::{event_bits, runtime_gone, ScheduledIo};

/// The token of the `mio::Waker` that interrupts a parked loop; never a source's.
pub(crate) const WAKE_TOKEN: Token = Token(usize::MAX);

/// One readiness event, as the turn records it in the trace.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IoEvent {
    /// The source's token (`io#N` in the trace).
    pub(crate) token: usize,
    /// A read (or accept) will not block: data, end of stream, or an error.
    pub(crate) readable: bool,
    /// A write will not block: room in the send buffer, or an error.
    pub(crate) writable: bool,
}

/// The loop thread's side: the poller and its event buffer.
pub(crate) struct Reactor {
    poll: RefCell<mio::Poll>,
    /// Filled by [`poll`](Reactor::poll), read by [`dispatch`](Reactor::dispatch).
    events: RefCell<mio::Events>,
    handle: Arc<IoHandle>,
    /// Wakers collected while the sources lock is held, woken after it is
    /// released; kept between turns so dispatching allocates nothing.
    wakeups: RefCell<Vec<(usize, Waker)>>,
}

/// The part every registration holds: how to (de)register, and the slab.
pub(crate) struct IoHandle {
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
    /// Set by [`IoHandle::shutdown`]: no source may register any more.
    shut_down: bool,
}

impl Reactor {
    pub(crate) fn new(poll: mio::Poll) -> io::Result<Reactor> {
        let registry = poll.registry().try_clone()?;
        Ok(Reactor {
            poll: RefCell::new(poll),
            events: RefCell::new(mio::Events::with_capacity(1024)),
            handle: Arc::new(IoHandle {
                registry,
                sources: Mutex::default(),
                live: AtomicUsize::new(0),
            }),
            wakeups: RefCell::new(Vec::new()),
        })
    }

    /// What a socket needs to register: see [`Registration::new`].
    pub(crate) fn handle(&self) -> &Arc<IoHandle> {
        &self.handle
    }

    /// The registry, to create the cross-thread `mio::Waker` with.
    pub(crate) fn registry(&self) -> &mio::Registry {
        &self.handle.registry
    }

    /// Is any I/O source registered?
    pub(crate) fn has_sources(&self) -> bool {
        self.handle.live.load(Ordering::Acquire) > 0
    }

    /// Wait up to `timeout` (`None`: until something happens) for events.
    /// Only the syscall: [`dispatch`](Reactor::dispatch) acts on what came.
    /// A signal that interrupts the wait is not an error, just no events.
    pub(crate) fn poll(&self, timeout: Option<Duration>) -> io::Result<()> {
        let mut events = self.events.borrow_mut();
        match self.poll.borrow_mut().poll(&mut events, timeout) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                events.clear();
                Ok(())
            }
            result => result,
        }
    }

    /// Act on the events the last [`poll`](Reactor::poll) returned: mark
    /// each source ready and take the wakers waiting in that direction. Each
    /// event goes to `on_event` (while the sources lock is held: it must not
    /// touch sockets); then, with every lock released, `order` may reorder
    /// the wakers (a seeded runtime shuffles them), and each goes to `wake`
    /// with its source's token. Returns the number of source events
    /// (the unpark wake-up does not count).
    pub(crate) fn dispatch(
        &self,
        mut on_event: impl FnMut(IoEvent),
        order: impl FnOnce(&mut [(usize, Waker)]),
        mut wake: impl FnMut(usize, Waker),
    ) -> usize {
        let events = self.events.borrow();
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
                let bits = event_bits(event);
                on_event(IoEvent {
                    token,
                    readable: bits & Direction::Read.ready_mask() != 0,
                    writable: bits & Direction::Write.ready_mask() != 0,
                });
                // A token with no source: it was dropped after the event was
                // queued. Nothing waits on it.
                if let Some(Some(io)) = sources.slots.get(token) {
                    io.set_ready(bits, |waker| wakeups.push((token, waker)));
                }
            }
        }
        order(&mut wakeups);
        for (token, waker) in wakeups.drain(..) {
            wake(token, waker);
        }
        count
    }
}

impl IoHandle {
    /// The runtime is being dropped: no one will poll for edges again. Mark
    /// every source dead, so each later call on it fails at once (see
    /// [`Registration::poll_ready`]), and wake every waiter so it finds out.
    ///
    /// Waking also breaks a cycle: a task waiting on a socket is kept alive by
    /// its waker here, while its future keeps the socket alive. Woken, the
    /// task goes to the run queue, which the runtime then empties.
    pub(crate) fn shutdown(&self) {
        let mut wakers = Vec::new();
        {
            let mut sources = lock(&self.sources);
            sources.shut_down = true;
            for io in sources.slots.iter().flatten() {
                // Under the source's own lock, as `poll_ready` checks it: a
                // waiter either is taken here or sees the flag, never neither.
                io.take_waiters(&mut wakers, true);
            }
        }
        wakers.into_iter().for_each(Waker::wake);
    }
}

/// One registered source as a live view shows it ([`IoHandle::sources`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SourceInfo {
    /// The token (`io#N` in the trace).
    pub(crate) token: usize,
    /// A read would not block (as far as the reactor knows).
    pub(crate) readable: bool,
    /// A write would not block.
    pub(crate) writable: bool,
    /// Tasks waiting to read (or accept).
    pub(crate) readers: usize,
    /// Tasks waiting for room to write.
    pub(crate) writers: usize,
}

impl IoHandle {
    /// Every registered source, by token, up to `max` of them (a live view
    /// needs a sample, not a million rows).
    pub(crate) fn sources(&self, max: usize) -> Vec<SourceInfo> {
        let sources = lock(&self.sources);
        let mut out = Vec::new();
        for (token, io) in sources.slots.iter().enumerate() {
            let Some(io) = io else { continue };
            if out.len() == max {
                break;
            }
            let (readable, writable, readers, writers) = io.describe();
            out.push(SourceInfo {
                token,
                readable,
                writable,
                readers,
                writers,
            });
        }
        out
    }

    /// How many sources are registered.
    pub(crate) fn source_count(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// An I/O source's registration with one runtime's reactor.
///
/// An I/O type (a `TcpStream`) owns one. It deregisters the source from the
/// slab when dropped; the owner must call [`Registration::deregister`] with
/// the mio source first (mio needs the source itself to remove it from epoll).
pub(crate) struct Registration {
    handle: Arc<IoHandle>,
    io: Arc<ScheduledIo>,
    token: usize,
}

impl Registration {
    /// Register `source` for `interest` with the reactor behind `handle`.
    /// Fails if that reactor's runtime is gone.
    pub(crate) fn new(
        handle: Arc<IoHandle>,
        source: &mut impl mio::event::Source,
        interest: Interest,
    ) -> io::Result<Registration> {
        let io = Arc::new(ScheduledIo::new());
        let token = {
            let mut slab = lock(&handle.sources);
            if slab.shut_down {
                return Err(runtime_gone());
            }
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

    /// Ready in `dir`? If not, join the waiters and return `Pending`.
    /// `Ready(Ok(tick))` gives the tick to pass to
    /// [`clear_readiness`](Self::clear_readiness); `Ready(Err(_))` means the
    /// runtime is gone and no edge will ever come.
    #[inline]
    pub(crate) fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<io::Result<u32>> {
        let ready = self.io.poll_ready(cx, dir);
        if ready.is_pending() {
            // Note on the polled task what it waits on (`Runtime::tasks`).
            let token = self.token;
            crate::task::wait::record(match dir {
                Direction::Read => crate::task::WaitReason::Readable { token },
                Direction::Write => crate::task::WaitReason::Writable { token },
            });
        }
        ready
    }

    /// The call returned `WouldBlock`: clear readiness in `dir` — unless an
    /// event arrived since `tick`, in which case the edge is kept.
    #[inline]
    pub(crate) fn clear_readiness(&self, dir: Direction, tick: u32) {
        self.io.clear_readiness(dir, tick);
    }

    // ANCHOR: poll_io
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
                Poll::Ready(Ok(tick)) => tick,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            };
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_readiness(dir, tick),
                result => return Poll::Ready(result),
            }
        }
    }
    // ANCHOR_END: poll_io

    /// Remove `source` from the OS poller. Call before dropping the source.
    pub(crate) fn deregister(&self, source: &mut impl mio::event::Source) -> io::Result<()> {
        self.handle.registry.deregister(source)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut wakers = Vec::new();
        {
            let mut slab = lock(&self.handle.sources);
            slab.slots[self.token] = None;
            slab.free.push(self.token);
            self.handle.live.fetch_sub(1, Ordering::AcqRel);
            self.io.take_waiters(&mut wakers, false);
        }
        // Every lock is released. Wake anyone still waiting (most likely the
        // stale waker of a dropped future), so no task waits on a source that is gone.
        wakers.into_iter().for_each(Waker::wake);
    }
}

/// The reactor on its own, without a runtime (a leaf can be tested so): a
/// mio listener, wakers that record what happened to them, and the three
/// ways waiters leave — an edge, `shutdown`, the source's drop.
#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::task::Wake;

    /// What happened to the probes of one test.
    #[derive(Default)]
    struct Log {
        wakes: AtomicUsize,
        drops: AtomicUsize,
        /// A probe was woken or dropped while the reactor held one of its locks.
        saw_a_lock: AtomicBool,
    }

    /// A waker that checks, when woken and when dropped, that no lock of the
    /// reactor is held: its drop could be a task's last, whose destructors
    /// would take those locks.
    struct Probe {
        handle: Arc<IoHandle>,
        io: Arc<ScheduledIo>,
        log: Arc<Log>,
    }

    impl Probe {
        fn check(&self) {
            let locked = self.handle.sources.try_lock().is_err() || self.io.is_locked();
            if locked {
                self.log.saw_a_lock.store(true, Ordering::SeqCst);
            }
        }
    }

    impl Wake for Probe {
        fn wake(self: Arc<Self>) {
            self.check();
            self.log.wakes.fetch_add(1, Ordering::SeqCst);
        }
    }

    impl Drop for Probe {
        fn drop(&mut self) {
            self.check();
            self.log.drops.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A reactor with one listener registered for reading.
    fn setup() -> (Reactor, mio::net::TcpListener, Registration) {
        let reactor = Reactor::new(mio::Poll::new().unwrap()).unwrap();
        let mut listener = mio::net::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let reg =
            Registration::new(reactor.handle().clone(), &mut listener, Interest::READABLE).unwrap();
        (reactor, listener, reg)
    }

    /// A probe's waker; the returned waker holds the only reference.
    fn probe(reg: &Registration, log: &Arc<Log>) -> Waker {
        Waker::from(Arc::new(Probe {
            handle: reg.handle.clone(),
            io: reg.io.clone(),
            log: log.clone(),
        }))
    }

    /// Make `waker` wait on `reg` in `dir` (clearing the initial readiness first).
    fn wait(reg: &Registration, waker: &Waker, dir: Direction) {
        let mut cx = Context::from_waker(waker);
        if let Poll::Ready(Ok(tick)) = reg.poll_ready(&mut cx, dir) {
            reg.clear_readiness(dir, tick);
        }
        assert!(reg.poll_ready(&mut cx, dir).is_pending());
    }

    #[test]
    fn one_edge_wakes_every_waiter_once_with_no_lock_held() {
        let (reactor, listener, reg) = setup();
        let log = Arc::new(Log::default());
        let wakers: Vec<Waker> = (0..3).map(|_| probe(&reg, &log)).collect();
        for waker in &wakers {
            wait(&reg, waker, Direction::Read);
            wait(&reg, waker, Direction::Read); // the same task again: no second entry
        }
        assert_eq!(reg.io.waiters(Direction::Read), 3);
        drop(wakers); // the lists now hold the only references

        let _client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let mut events = 0;
        for _ in 0..100 {
            reactor.poll(Some(Duration::from_millis(100))).unwrap();
            events += reactor.dispatch(|_| {}, |_| {}, |_, waker| waker.wake());
            if events > 0 {
                break;
            }
        }
        assert_eq!(events, 1, "the connection is one readable edge");
        assert_eq!(log.wakes.load(Ordering::SeqCst), 3, "every waiter woken");
        assert_eq!(
            log.drops.load(Ordering::SeqCst),
            3,
            "and dropped after waking"
        );
        assert_eq!(reg.io.waiters(Direction::Read), 0);
        assert!(!log.saw_a_lock.load(Ordering::SeqCst));
    }

    #[test]
    fn shutdown_wakes_every_waiter_and_fails_every_later_call() {
        let (reactor, _listener, reg) = setup();
        let log = Arc::new(Log::default());
        wait(&reg, &probe(&reg, &log), Direction::Read);
        wait(&reg, &probe(&reg, &log), Direction::Write);

        reactor.handle().shutdown();
        assert_eq!(log.wakes.load(Ordering::SeqCst), 2);
        assert_eq!(log.drops.load(Ordering::SeqCst), 2);
        assert!(!log.saw_a_lock.load(Ordering::SeqCst));

        // Every later call fails at once, ready or not, and nothing waits.
        let waker = probe(&reg, &log);
        let mut cx = Context::from_waker(&waker);
        let Poll::Ready(Err(e)) = reg.poll_ready(&mut cx, Direction::Read) else {
            panic!("a socket of a dropped runtime must not wait");
        };
        assert!(e
            .to_string()
            .contains("runtime this socket belongs to was dropped"));
        assert!(matches!(
            reg.poll_io(&mut cx, Direction::Write, || Ok(())),
            Poll::Ready(Err(_))
        ));
        let mut other = mio::net::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        assert!(
            Registration::new(reactor.handle().clone(), &mut other, Interest::READABLE).is_err()
        );
    }

    #[test]
    fn dropping_a_source_wakes_its_waiters_with_no_lock_held() {
        let (_reactor, _listener, reg) = setup();
        let log = Arc::new(Log::default());
        wait(&reg, &probe(&reg, &log), Direction::Read);
        wait(&reg, &probe(&reg, &log), Direction::Write);
        drop(reg);
        assert_eq!(log.wakes.load(Ordering::SeqCst), 2);
        assert_eq!(log.drops.load(Ordering::SeqCst), 2);
        assert!(!log.saw_a_lock.load(Ordering::SeqCst));
    }
}
