//! The part of the runtime that other threads may touch.
//!
//! Everything the event loop owns lives on its one thread (see [`Core`](super::core)),
//! except what a [`Waker`](std::task::Waker) needs: a waker may be cloned into a
//! `spawn_blocking` job or a plain `std::thread` and fired from there. So the
//! waker's side of the runtime is an `Arc<Shared>`, and it is deliberately small:
//!
//! - the sending end of the **run queue**,
//! - the **parked** flag and the `mio::Waker` that interrupts a parked loop,
//! - the clock (so an event stamped on another thread has a time),
//! - the trace sink, the observer's recorder (`observe/`), and the one
//!   metric that wakers update (`wakes`).
//!
//! It also holds what a *leaf future* needs wherever it is polled: the
//! clock, the reactor's handle (sockets) and the blocking pool
//! (`spawn_blocking`) — thread-safe, so that `context::with_shared` finds
//! them on the one loop's thread and on every worker of a multi-thread
//! runtime alike. That runtime's scheduler (`runtime/multi/`) lives here
//! too, with its timer wheel: a wake must reach it from any thread. (The
//! one loop's wheel stays in its `Core`, without a lock.)

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use std::future::Future;
use std::time::Duration;

use crossbeam_channel::{SendError, Sender};

use super::driver::blocking::BlockingPool;
use super::driver::reactor::IoHandle;
use super::multi::Scheduler;
use super::observe::Recorder;
use crate::task::header::TaskRef;
use crate::task::raw::Task;
use crate::task::TaskId;
use crate::time::clock::Clock;

use crate::trace::{Event, EventKind, PollOutcome};

/// A ready task, as it sits on the run queue.
pub(crate) type Ready = TaskRef;

/// The loop thread's own run queue: a plain `VecDeque`, no atomics.
///
/// Most wakes happen on the loop's own thread (a timer firing, a socket event,
/// a task waking another). They push here; only wakes from other threads go
/// through the `injector` channel, which the loop empties into this queue at
/// the start of each turn.
struct LocalQueue(RefCell<VecDeque<Ready>>);

// SAFETY: `Shared` travels to other threads inside every waker, but the
// `LocalQueue` in it is touched only on the loop's own thread: by `Core` (which
// is `!Send` and lives on the thread that built the runtime) and by
// `Shared::schedule` when `context::on_loop_thread(self.id)` says this thread
// is running this runtime's loop. One thread, so the `RefCell`'s non-atomic
// borrow flag is enough, and it still turns a re-entrant use into a panic.
unsafe impl Sync for LocalQueue {}

/// State shared between the loop thread and anyone holding a waker.
pub(crate) struct Shared {
    /// Wakes made on the loop's thread (see [`LocalQueue`]).
    local: LocalQueue,
    /// Producer end of the run queue for wakes from other threads (the
    /// injector). The loop drains it into `local` each turn.
    queue: Sender<Ready>,
    /// True only while the loop is inside `mio::Poll::poll` (step 4 of the turn).
    /// A wake checks it so that only a wake that *needs* to interrupt the
    /// sleeping loop pays for the `mio::Waker` syscall.
    parked: AtomicBool,
    /// Set by the first wake that hits a parked loop, so ten wakes while parked
    /// still make one syscall. Cleared by the loop when it unparks.
    notified: AtomicBool,
    /// Interrupts `mio::Poll::poll` from another thread.
    unparker: mio::Waker,
    /// The `block_on` future was woken and should be polled in step 2.
    pub(crate) main_woken: AtomicBool,
    /// The runtime's clock: real, or paused (virtual).
    pub(crate) clock: Clock,
    /// `Some` when tracing: every event, in the order it happened.
    pub(crate) trace: Option<Mutex<Vec<Event>>>,
    /// `Some` when observed (`Builder::observe`): aggregates and recent
    /// events for a watcher on another thread, bounded.
    pub(crate) observer: Option<Arc<Recorder>>,
    /// `trace` or `observer` is set: events are recorded. One flag, so the
    /// hot path still pays one branch when neither is.
    recording: bool,
    /// Counts wakes that put a task on the queue (a metric).
    pub(crate) wakes: AtomicU64,
    /// `spawn_blocking` jobs not yet finished. While any run, a paused clock
    /// does not jump ahead: the job's result is what the loop is waiting for.
    pub(crate) blocking_in_flight: AtomicUsize,
    /// Tells runtimes apart, so a wake knows whether it is on its own loop's thread.
    pub(crate) id: usize,
    /// The next task id (ids start at 1; 0 is the `block_on` future). Atomic,
    /// because `Handle::spawn` may be called from any thread.
    next_task_id: AtomicU64,
    /// The runtime is being dropped: new tasks are cancelled as they are made.
    closed: AtomicBool,
    /// The reactor's thread-safe half, so a blocking job (through its
    /// `Handle`) can register sockets too.
    pub(crate) io: Arc<IoHandle>,
    /// The thread that owns the loop (a `Runtime` is not `Send`, so it never
    /// changes): a wake from this thread between turns comes from "the runtime".
    pub(crate) owner: std::thread::ThreadId,
    /// Threads for `spawn_blocking`.
    pub(crate) blocking: BlockingPool,
    /// `Some` on a multi-thread runtime (`Builder::worker_threads`): its
    /// workers' queues, where a wake puts the task instead.
    pub(crate) multi: Option<Scheduler>,
}

impl Shared {
    pub(crate) fn new(
        queue: Sender<Ready>,
        unparker: mio::Waker,
        clock: Clock,
        trace: bool,
        observer: Option<Arc<Recorder>>,
        id: usize,
        io: Arc<IoHandle>,
    ) -> Shared {
        Shared {
            local: LocalQueue(RefCell::new(VecDeque::new())),
            queue,
            parked: AtomicBool::new(false),
            notified: AtomicBool::new(false),
            main_woken: AtomicBool::new(false),
            unparker,
            clock,
            trace: trace.then(|| Mutex::new(Vec::new())),
            recording: trace || observer.is_some(),
            observer,
            wakes: AtomicU64::new(0),
            blocking_in_flight: AtomicUsize::new(0),
            id,
            next_task_id: AtomicU64::new(1),
            closed: AtomicBool::new(false),
            io,
            owner: std::thread::current().id(),
            blocking: BlockingPool::new(),
            multi: None,
        }
    }

    /// The shared half of a multi-thread runtime: wakes go to `scheduler`.
    pub(crate) fn with_scheduler(mut self, scheduler: Scheduler) -> Shared {
        self.multi = Some(scheduler);
        self
    }

    /// Make a task for `future` with the next id (and trace its spawn). The
    /// caller queues it and hands out its `JoinHandle`.
    pub(crate) fn new_task<F>(
        self: &Arc<Self>,
        future: F,
        name: Option<Box<str>>,
        owned_slot: usize,
    ) -> TaskRef
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let id = TaskId(self.next_task_id.fetch_add(1, Ordering::Relaxed));
        if self.tracing() {
            let name = name.as_deref().map(str::to_string);
            self.record(EventKind::Spawn { task: id.0, name });
        }
        Task::allocate(future, id, name, self.clone(), owned_slot)
    }

    /// How many tasks were ever made (a metric).
    pub(crate) fn tasks_spawned(&self) -> u64 {
        self.next_task_id.load(Ordering::Relaxed) - 1
    }

    /// The runtime is being dropped: from now on, new tasks are cancelled at birth.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }

    /// Is the runtime being (or been) dropped?
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Put a task on the run queue (it was woken, or just spawned) and, if the
    /// loop is parked, interrupt it.
    pub(crate) fn schedule(&self, task: Ready) {
        // On the loop's own thread: straight onto the local queue. The loop is
        // running (it is us), so there is nothing to interrupt.
        if crate::runtime::context::on_loop_thread(self.id) {
            self.local.0.borrow_mut().push_back(task);
            return;
        }
        // Many threads: onto this worker's deque, or the injector.
        if let Some(multi) = &self.multi {
            multi.schedule(self, task, false);
            return;
        }
        // The receiver lives as long as the runtime. A task pushed after the
        // runtime is gone (spawned from another thread at that very moment)
        // comes back here: cancel it, so its `JoinHandle` still resolves.
        if let Err(SendError(task)) = self.queue.send(task) {
            task.shutdown();
            return;
        }
        self.notify();
    }

    /// Count a wake that changed a task's state (the `wakes` metric). On a
    /// multi-thread runtime each worker counts its own: one counter that
    /// every worker adds to would bounce its cache line between the cores
    /// at every wake.
    #[inline]
    pub(crate) fn count_wake(&self) {
        if self.multi.is_none() {
            self.wakes.fetch_add(1, Ordering::Relaxed);
        } else {
            self.count_wake_on_workers();
        }
    }

    /// [`count_wake`](Self::count_wake) on a multi-thread runtime, out of
    /// line: the one loop's wake path stays one add.
    #[inline(never)]
    fn count_wake_on_workers(&self) {
        let counted = self.multi.as_ref().is_some_and(|m| m.count_wake_here());
        if !counted {
            self.wakes.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The local queue's length (loop thread only).
    pub(crate) fn local_len(&self) -> usize {
        debug_assert_eq!(std::thread::current().id(), self.owner);
        self.local.0.borrow().len()
    }

    /// Take the next task off the local queue (loop thread only). The
    /// `RefCell` borrow ends before the task is returned: polling or dropping
    /// it may push more.
    pub(crate) fn pop_local(&self) -> Option<Ready> {
        debug_assert_eq!(std::thread::current().id(), self.owner);
        self.local.0.borrow_mut().pop_front()
    }

    /// Let `f` reorder the local queue in place (loop thread only; `f` must
    /// not poll, wake or drop a task: the queue is borrowed).
    pub(crate) fn with_local(&self, f: impl FnOnce(&mut [Ready])) {
        debug_assert_eq!(std::thread::current().id(), self.owner);
        f(self.local.0.borrow_mut().make_contiguous());
    }

    /// Queue a task on the local queue (loop thread only).
    pub(crate) fn push_local(&self, task: Ready) {
        debug_assert_eq!(std::thread::current().id(), self.owner);
        self.local.0.borrow_mut().push_back(task);
    }

    // ANCHOR: notify
    /// Interrupt the loop if (and only if) it is parked in the reactor.
    ///
    /// This is half of a handshake with [`Shared::park_begin`]: the waker writes
    /// the queue then reads `parked`; the loop writes `parked` then reads the
    /// queue. With a SeqCst fence on both sides, at least one of them sees the
    /// other's write, so a wake is never lost and a busy loop costs no syscall.
    pub(crate) fn notify(&self) {
        // A wake on the loop's own thread, while the loop runs (a task waking
        // another, a timer firing): the loop is not parked — it parks only
        // inside step 4 and unparks before it wakes anything — so there is
        // nothing to interrupt, and the fence below can be skipped.
        if crate::runtime::context::on_loop_thread(self.id) {
            return;
        }
        fence(Ordering::SeqCst);
        if self.parked.load(Ordering::SeqCst) && !self.notified.swap(true, Ordering::SeqCst) {
            // If the wake fails the OS is out of resources; the loop will still
            // run the task when its park timeout ends.
            let _ = self.unparker.wake();
        }
    }
    // ANCHOR_END: notify

    /// Interrupt whoever is parked in the reactor (a multi-thread runtime's
    /// driver holder), or make its next park return at once.
    pub(crate) fn wake_reactor(&self) {
        // On failure the OS is out of resources; the park ends at its timeout.
        let _ = self.unparker.wake();
    }

    /// The loop is about to park. Afterwards it must re-check for ready work.
    pub(crate) fn park_begin(&self) {
        self.parked.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
    }

    /// The loop is back from the reactor.
    pub(crate) fn park_end(&self) {
        self.parked.store(false, Ordering::SeqCst);
        self.notified.store(false, Ordering::SeqCst);
    }

    /// Are events recorded (tracing, or observed)? One branch on the hot
    /// path when they are not.
    #[inline]
    pub(crate) fn tracing(&self) -> bool {
        self.recording
    }

    /// Record a trace event stamped with the runtime's clock: into the
    /// trace, and through the observer's recorder. Inlined, so that with
    /// nothing recorded (the default) it is one branch at the caller.
    #[inline]
    pub(crate) fn record(&self, kind: EventKind) {
        if self.recording {
            self.record_now(kind);
        }
    }

    /// The work of [`record`](Self::record), kept out of line so that the
    /// many call sites stay one branch when nothing is recorded.
    #[inline(never)]
    fn record_now(&self, kind: EventKind) {
        if let Some(recorder) = &self.observer {
            recorder.record(self.clock.elapsed(), &kind);
        }
        if let Some(sink) = &self.trace {
            let worker = self.worker_here();
            let mut events = sink.lock().unwrap_or_else(|e| e.into_inner());
            // The time is read under the lock: with several workers
            // recording at once, the trace's order is then its times' order.
            let at = self.clock.elapsed();
            events.push(Event { at, kind, worker });
        }
    }

    /// The worker this thread is, on a multi-thread runtime (for the trace).
    fn worker_here(&self) -> Option<usize> {
        self.multi.as_ref()?;
        crate::runtime::multi::worker::current_index(self.id)
    }

    /// Record the start of a poll; returns where to fill in how it ended.
    ///
    /// The event goes in *before* the poll runs, so what the poll causes
    /// (spawns, wakes) follows it in the timeline, as it did in time.
    #[inline]
    pub(crate) fn record_poll_start(&self, task: u64) -> Option<usize> {
        if !self.recording {
            return None;
        }
        self.record_poll_start_now(task)
    }

    /// The work of [`record_poll_start`](Self::record_poll_start), out of
    /// line: every poll calls the check, so it must stay one branch.
    #[inline(never)]
    fn record_poll_start_now(&self, task: u64) -> Option<usize> {
        // Observed only: the recorder takes the whole poll when it ends.
        let Some(sink) = self.trace.as_ref() else {
            return Some(usize::MAX);
        };
        let mut events = sink.lock().unwrap_or_else(|e| e.into_inner());
        let kind = EventKind::Poll {
            task,
            outcome: PollOutcome::Pending,
            took: Duration::ZERO,
        };
        events.push(Event {
            at: self.clock.elapsed(),
            kind,
            worker: self.worker_here(),
        });
        Some(events.len() - 1)
    }

    /// Fill in the outcome of the poll of `task` recorded at `index`;
    /// `started` is when it began, if polls are timed.
    pub(crate) fn record_poll_end(
        &self,
        index: usize,
        task: u64,
        outcome: PollOutcome,
        took: Duration,
        started: Option<std::time::Instant>,
    ) {
        if let Some(recorder) = &self.observer {
            self.observe_poll(recorder, task, outcome, took, started);
        }
        if let (Some(sink), true) = (&self.trace, index != usize::MAX) {
            let mut events = sink.lock().unwrap_or_else(|e| e.into_inner());
            if let EventKind::Poll {
                outcome: o,
                took: t,
                ..
            } = &mut events[index].kind
            {
                (*o, *t) = (outcome, took);
            }
        }
    }

    /// Hand a finished poll to the observer's recorder (out of line: only
    /// an observed runtime comes here).
    #[inline(never)]
    fn observe_poll(
        &self,
        recorder: &Recorder,
        task: u64,
        outcome: PollOutcome,
        took: Duration,
        started: Option<std::time::Instant>,
    ) {
        // When it began, from the reading the poll's timing already made
        // (reading the clock again would cost as much as a short poll).
        let at = match started {
            Some(started) if !self.clock.is_paused() => {
                started.saturating_duration_since(self.clock.start())
            }
            _ => self.clock.elapsed(),
        };
        let kind = EventKind::Poll {
            task,
            outcome,
            took,
        };
        recorder.record(at, &kind);
    }
}
