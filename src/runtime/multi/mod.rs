//! The multi-thread runtime: several workers, stealing each other's tasks.
//!
//! `Runtime::builder().worker_threads(n)` builds this instead of the one
//! event loop. The task, the timer wheel, the reactor and the blocking pool
//! are the same code (`task/`, `runtime/driver/`); what changes is *who
//! runs the turn*:
//!
//! ```text
//!   spawn / wake ──▶ on a worker: its LIFO slot or deque │ elsewhere: the injector
//!
//!    worker 0                 worker 1                 worker n-1
//!   ┌───────────────┐        ┌───────────────┐        ┌───────────────┐
//!   │ LIFO │ deque ◀┼─steal──┼ deque │ LIFO  │  ...   │ LIFO │ deque  │
//!   └──────┬────────┘        └───────────────┘        └───────────────┘
//!          └─ none anywhere: sleep; the first sleeper holds the driver
//!             (reactor + timers) and parks in epoll_wait; the rest on a condvar
//! ```
//!
//! - `worker` — one worker's loop: next task, steal, sleep.
//! - `idle` — who sleeps and who searches: a queued task wakes one worker, not all.
//! - `park` — where a worker sleeps, and the driver hand-off.
//!
//! Everything a wake needs is in [`Scheduler`], inside the runtime's
//! [`Shared`] half — which every task's header points at, so a waker on any
//! thread finds the queues. [`Workers`] is what the `Runtime` keeps: the
//! threads, joined when it is dropped.
//!
//! What the one-thread loop promises and this one cannot: a turn-by-turn
//! order. Which worker polls which task, and when, depends on the OS's
//! scheduling of threads, so `Runtime::turn`, a paused clock and a seed are
//! refused here (`Builder::build` says why).

mod idle;
#[cfg(all(test, feature = "loom"))]
mod loom_tests;
mod park;
pub(crate) mod worker;

use std::future::Future;
use std::io;
use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll};
use std::thread;
use std::time::Instant;

use crossbeam_deque::{Injector, Steal, Stealer, Worker};
use futures_task::ArcWake;

use self::idle::Idle;
use self::park::{Driver, Parker, Polled};
use super::driver::reactor::Reactor;
use super::driver::timer::SharedTimers;
use super::owned::OwnedTasks;
use super::shared::{Ready, Shared};
use super::Metrics;
use crate::task::{JoinHandle, TaskInfo, WaitReason};
use crate::trace::{PollOutcome, WakeSource};

/// The multi-thread scheduler's four choices, each switchable so that the
/// work-stealing chapter can measure what it buys (`Builder::tuning`).
/// The default is the runtime as it should be: every field `true`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    /// A task woken by the running task runs next on the same worker, from
    /// the LIFO slot (at most 3 in a row). Off: it joins the back of the deque.
    pub lifo_slot: bool,
    /// An idle worker steals up to half of a victim's deque at once. Off:
    /// one task per steal.
    pub steal_half: bool,
    /// A queued task wakes one sleeping worker, and only if none searches.
    /// Off: it wakes every sleeper (the thundering herd).
    pub wake_one: bool,
    /// The reactor and the timers are driven by whichever worker sleeps
    /// first (the driver hand-off). Off: by a thread of their own, whose
    /// every wake crosses to a worker.
    pub driver_hand_off: bool,
}

impl Default for Tuning {
    fn default() -> Tuning {
        Tuning {
            lifo_slot: true,
            steal_half: true,
            wake_one: true,
            driver_hand_off: true,
        }
    }
}

/// The queues and the sleepers of a multi-thread runtime: what a wake on
/// any thread needs. Lives in the runtime's `Shared`.
pub(crate) struct Scheduler {
    /// Tasks queued from outside the workers (the `block_on` thread, a
    /// blocking job, a `std::thread`), taken by whichever worker looks first.
    injector: Injector<Ready>,
    /// The stealing end of each worker's deque.
    stealers: Box<[Stealer<Ready>]>,
    /// Where each worker sleeps.
    parkers: Box<[Parker]>,
    idle: Idle,
    /// The reactor, for one worker at a time (`park.rs`).
    driver: Mutex<Driver>,
    /// Every live task, in shards so that workers rarely meet on one lock.
    owned: ShardedOwned,
    /// Counters, one cache line per worker.
    counters: Box<[Counters]>,
    /// The runtime is shutting down: workers stop taking tasks.
    shutdown: AtomicBool,
    /// The runtime's id (`Shared::id`), to tell its workers from others'.
    runtime: usize,
    /// Which of the scheduler's choices are on.
    tuning: Tuning,
    /// The timer wheel every worker's `Sleep` registers with, locked.
    pub(crate) timers: SharedTimers,
}

/// One worker's counters: written only by that worker, summed on request.
#[derive(Default)]
#[repr(align(128))]
struct Counters {
    polls: Counter,
    wakes: Counter,
    steals: Counter,
    io_events: Counter,
    timers_fired: Counter,
    driver_turns: Counter,
}

/// A counter only its worker writes: a load and a store, not an atomic
/// add — no other thread writes it, so nothing can be lost between the two,
/// and a plain store costs no locked instruction on every poll. Readers on
/// other threads see some recent value.
#[derive(Default)]
struct Counter(AtomicU64);

impl Counter {
    fn bump(&self) {
        self.add(1);
    }

    fn add(&self, n: u64) {
        let now = self.0.load(Ordering::Relaxed);
        self.0.store(now + n, Ordering::Relaxed);
    }

    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The owned-task list (`owned.rs`) in shards, one per worker plus one for
/// tasks spawned from outside. A task's slot in its state word says both:
/// `index * shards + shard`.
///
/// A shard's lock is taken when a task is born and when it ends — not at
/// every poll. What a task waits on changes at every `Pending` poll, on any
/// worker, so it goes on a [`Board`] beside the list, without a lock.
struct ShardedOwned {
    shards: Box<[Mutex<OwnedTasks>]>,
    boards: Box<[Board]>,
}

/// What each owned task of one shard waits on (`WaitReason::encode`d), by
/// its index in the shard: written at the end of a poll with one relaxed
/// store, read by `Runtime::tasks` under the shard's lock. In chunks that
/// never move once made (made under the shard's lock, when an index is
/// first handed out), so a writer needs no lock to find its cell.
struct Board {
    chunks: Box<[OnceLock<Box<[AtomicU64]>>]>,
}

impl Board {
    /// Cells per chunk, and chunks per board: room for 4 M tasks per shard.
    /// Past that, what a task waits on is kept under the lock instead.
    const CHUNK: usize = 4096;
    const CHUNKS: usize = 1024;

    fn new() -> Board {
        Board {
            chunks: (0..Self::CHUNKS).map(|_| OnceLock::new()).collect(),
        }
    }

    /// The cell of `index`, if its chunk exists.
    fn cell(&self, index: usize) -> Option<&AtomicU64> {
        let chunk = self.chunks.get(index / Self::CHUNK)?.get()?;
        Some(&chunk[index % Self::CHUNK])
    }

    /// Make sure `index` has a cell, and clear it (a new task waits on nothing).
    fn prepare(&self, index: usize) {
        if let Some(chunk) = self.chunks.get(index / Self::CHUNK) {
            let chunk = chunk.get_or_init(|| (0..Self::CHUNK).map(|_| AtomicU64::new(0)).collect());
            chunk[index % Self::CHUNK].store(0, Ordering::Relaxed);
        }
    }
}

impl ShardedOwned {
    fn new(n: usize) -> ShardedOwned {
        ShardedOwned {
            shards: (0..n).map(|_| Mutex::default()).collect(),
            boards: (0..n).map(|_| Board::new()).collect(),
        }
    }

    fn lock(&self, shard: usize) -> MutexGuard<'_, OwnedTasks> {
        self.shards[shard].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Own `make(slot)`, a task made knowing its slot, in `shard`.
    fn own(&self, shard: usize, make: impl FnOnce(usize) -> Ready) -> Ready {
        let n = self.shards.len();
        let mut owned = self.lock(shard);
        let index = owned.vacant();
        self.boards[shard].prepare(index);
        let task = make(index * n + shard);
        owned.fill(index, task.clone());
        task
    }

    /// Own a task that was made elsewhere (spawned before it had a slot).
    fn insert(&self, shard: usize, task: Ready) -> usize {
        let n = self.shards.len();
        let shard = shard % n;
        let mut owned = self.lock(shard);
        let index = owned.vacant();
        self.boards[shard].prepare(index);
        let slot = index * n + shard;
        task.header().state.set_owned_slot(slot);
        owned.fill(index, task);
        slot
    }

    /// The task in `slot` returned `Pending`, waiting on `reason`: no lock.
    fn set_waiting(&self, slot: usize, reason: u64) {
        let n = self.shards.len();
        match self.boards[slot % n].cell(slot / n) {
            // Most polls wait on what the last one did: then only read, so
            // the cache line (shared with neighbours' cells) stays clean.
            Some(cell) => {
                if cell.load(Ordering::Relaxed) != reason {
                    cell.store(reason, Ordering::Relaxed)
                }
            }
            None => self.lock(slot % n).set_waiting(slot / n, reason),
        }
    }

    /// Stop owning the task in `slot`; the caller drops it after the lock.
    fn remove(&self, slot: usize) -> Option<Ready> {
        let n = self.shards.len();
        self.lock(slot % n).remove(slot / n)
    }

    fn take_all(&self) -> Vec<Ready> {
        (0..self.shards.len())
            .flat_map(|shard| self.lock(shard).take_all())
            .collect()
    }

    fn tasks(&self) -> Vec<TaskInfo> {
        let mut tasks = Vec::new();
        for shard in 0..self.shards.len() {
            let owned = self.lock(shard);
            let board = &self.boards[shard];
            tasks.extend(owned.iter_indexed().map(|(index, task, listed)| {
                let waiting_on = match board.cell(index) {
                    Some(cell) => WaitReason::decode(cell.load(Ordering::Relaxed)),
                    None => listed,
                };
                super::core::task_info(task, waiting_on)
            }));
        }
        tasks.sort_by_key(|t| t.id);
        tasks
    }
}

impl Scheduler {
    // ANCHOR: schedule
    /// Queue `task`: on this thread's worker if it is one of ours (the LIFO
    /// slot, or the back of its deque for a yield), else on the injector.
    /// Then, if a worker sleeps and none searches, wake one.
    pub(crate) fn schedule(&self, shared: &Shared, task: Ready, is_yield: bool) {
        let is_yield = is_yield || !self.tuning.lifo_slot;
        let task = match worker::push_local(self.runtime, task, is_yield) {
            Ok(stealable) => {
                // In the LIFO slot only this worker can run it: no one to wake.
                if stealable {
                    self.notify_parked(shared);
                }
                return;
            }
            Err(task) => task,
        };
        self.injector.push(task);
        // The push before the read of who searches (in `notify_parked`): a
        // searcher going to sleep does the opposite (`worker::park`), so one
        // of us sees the other — or the task would sleep with no one to run it.
        fence(Ordering::SeqCst);
        self.notify_parked(shared);
        // Shut down already, after the last sweep of the injector: nobody
        // will run or cancel what we pushed. Sweep it ourselves.
        if self.is_shutdown() && shared.is_closed() {
            for task in self.drain_injector() {
                task.shutdown();
            }
        }
    }
    // ANCHOR_END: schedule

    /// Wake one sleeping worker, if one should wake (`idle.rs`).
    fn notify_parked(&self, shared: &Shared) {
        if !self.tuning.wake_one {
            // The herd: every sleeper up, to fight over one task.
            while let Some(index) = self.idle.any_sleeper() {
                self.parkers[index].unpark(shared);
            }
            return;
        }
        if let Some(index) = self.idle.worker_to_notify() {
            self.parkers[index].unpark(shared);
        }
    }

    /// A timer was set before the parked driver's deadline: interrupt its park.
    pub(crate) fn unpark_driver(&self, shared: &Shared) {
        shared.wake_reactor();
    }

    fn is_shutdown(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }

    /// Everything on the injector, taken off it.
    fn drain_injector(&self) -> Vec<Ready> {
        let mut tasks = Vec::new();
        loop {
            match self.injector.steal() {
                Steal::Success(task) => tasks.push(task),
                Steal::Empty => return tasks,
                Steal::Retry => continue,
            }
        }
    }

    /// Is there a task in any queue?
    fn has_work(&self) -> bool {
        !self.injector.is_empty() || self.stealers.iter().any(|s| !s.is_empty())
    }

    /// A batch from the injector into `deque`, and one of them to run.
    fn pop_injector(&self, deque: &Worker<Ready>) -> Option<Ready> {
        loop {
            match self.injector.steal_batch_and_pop(deque) {
                Steal::Success(task) => return Some(task),
                Steal::Empty => return None,
                Steal::Retry => continue,
            }
        }
    }

    /// A busy worker's look at the reactor and timers, without waiting, if no
    /// one else holds the driver.
    fn maintain(&self, shared: &Shared) {
        if !self.tuning.driver_hand_off {
            return; // the driver thread polls it
        }
        let Ok(mut driver) = self.driver.try_lock() else {
            return;
        };
        let polled = driver.turn(shared, Some(std::time::Duration::ZERO));
        drop(driver);
        if let Some(index) = worker::current_index(self.runtime) {
            self.count_driver(index, &polled);
        }
    }

    fn count_driver(&self, worker: usize, polled: &Polled) {
        let c = &self.counters[worker];
        c.driver_turns.bump();
        c.io_events.add(polled.io_events as u64);
        c.timers_fired.add(polled.timers_fired as u64);
    }

    /// The counters, summed over the workers.
    pub(crate) fn metrics(&self, shared: &Shared) -> Metrics {
        let sum = |f: fn(&Counters) -> u64| self.counters.iter().map(f).sum::<u64>();
        Metrics {
            tasks_spawned: shared.tasks_spawned(),
            polls: sum(|c| c.polls.get()),
            // Wakes on the workers, and wakes from other threads.
            wakes: sum(|c| c.wakes.get()) + shared.wakes.load(Ordering::Relaxed),
            timers_fired: sum(|c| c.timers_fired.get()),
            io_events: sum(|c| c.io_events.get()),
            turns: sum(|c| c.driver_turns.get()),
            slow_polls: 0,
            longest_poll: std::time::Duration::ZERO,
        }
    }

    /// Count a wake on this thread's worker, if it is one of ours (false:
    /// the caller counts it in the shared counter).
    #[inline]
    pub(crate) fn count_wake_here(&self) -> bool {
        worker::current_index(self.runtime)
            .map(|index| self.counters[index].wakes.bump())
            .is_some()
    }

    /// How many tasks each worker stole from the others.
    pub(crate) fn steals(&self) -> Vec<u64> {
        self.counters.iter().map(|c| c.steals.get()).collect()
    }
}

/// Spawn on the multi-thread runtime behind `shared`, from any thread: owned
/// at once, queued on this worker (or the injector), run by whichever
/// worker gets to it first.
pub(crate) fn spawn<F>(
    shared: &Arc<Shared>,
    future: F,
    name: Option<Box<str>>,
) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let sched = shared.multi.as_ref().expect("a multi-thread runtime");
    if shared.is_closed() {
        // Spawned while the runtime is dropped: born cancelled.
        let task = shared.new_task(future, name, crate::task::raw::UNOWNED);
        task.shutdown();
        return JoinHandle::new(task);
    }
    let workers = sched.stealers.len();
    let shard = worker::current_index(shared.id).unwrap_or(workers);
    let task = sched
        .owned
        .own(shard, |slot| shared.new_task(future, name, slot));
    let handle = JoinHandle::new(task.clone());
    sched.schedule(shared, task.clone(), false);
    // The runtime may have closed after the check, after its last sweep of
    // the owned list: then nobody else would cancel the task.
    if shared.is_closed() {
        task.shutdown();
    }
    handle
}

/// Who is waking a task of the runtime behind `shared`, if this thread is
/// one of its workers (or waits in its `block_on`).
pub(crate) fn wake_source(shared: &Shared) -> Option<WakeSource> {
    shared.multi.as_ref()?;
    worker::wake_source(shared.id).or_else(|| {
        // Not a worker: the thread in `block_on`, polling its future.
        let here = crate::runtime::context::try_with_shared(|s| s.id == shared.id);
        (here == Some(true)).then_some(WakeSource::Main)
    })
}

/// With `Tuning::driver_hand_off` off: a thread that only drives the
/// reactor and the timers, for as long as the runtime lives. Its wakes are
/// from outside the workers, so every task it wakes goes through the
/// injector and a worker's unpark.
fn driver_thread(shared: &Arc<Shared>) -> Vec<Ready> {
    let sched = shared.multi.as_ref().expect("a multi-thread runtime");
    let mut driver = sched.driver.lock().unwrap_or_else(|e| e.into_inner());
    while !sched.is_shutdown() {
        driver.turn(shared, None);
    }
    Vec::new()
}

/// The waker of a multi-thread runtime's `block_on` future: trace the wake,
/// unpark the thread that waits in `block_on`.
struct MainWaker {
    thread: thread::Thread,
    shared: Arc<Shared>,
}

impl ArcWake for MainWaker {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        let shared = &arc_self.shared;
        if shared.tracing() {
            let by = crate::runtime::context::wake_source(shared);
            shared.record(crate::trace::EventKind::Wake { task: 0, by });
        }
        arc_self.thread.unpark();
    }
}

/// What a multi-thread `Runtime` keeps: its shared half and its threads.
pub(crate) struct Workers {
    pub(crate) shared: Arc<Shared>,
    threads: Vec<thread::JoinHandle<Vec<Ready>>>,
}

/// The parts `Builder::build` made, before the threads start.
pub(crate) struct Parts {
    deques: Vec<Worker<Ready>>,
}

/// Make the scheduler for `workers` workers around `reactor`; the deques
/// wait in `Parts` until [`Workers::start`].
pub(crate) fn scheduler(
    workers: usize,
    reactor: Reactor,
    runtime: usize,
    tuning: Tuning,
) -> (Scheduler, Parts) {
    let deques: Vec<Worker<Ready>> = (0..workers).map(|_| Worker::new_fifo()).collect();
    let scheduler = Scheduler {
        injector: Injector::new(),
        stealers: deques.iter().map(Worker::stealer).collect(),
        parkers: (0..workers).map(|_| Parker::new()).collect(),
        idle: Idle::new(workers),
        driver: Mutex::new(Driver::new(reactor)),
        owned: ShardedOwned::new(workers + 1),
        counters: (0..workers).map(|_| Counters::default()).collect(),
        shutdown: AtomicBool::new(false),
        runtime,
        tuning,
        timers: SharedTimers::new(),
    };
    (scheduler, Parts { deques })
}

impl Workers {
    /// Start one thread per deque.
    pub(crate) fn start(shared: Arc<Shared>, parts: Parts) -> io::Result<Workers> {
        let mut workers = Workers {
            shared: shared.clone(),
            threads: Vec::new(),
        };
        for (index, deque) in parts.deques.into_iter().enumerate() {
            let shared = shared.clone();
            let thread = thread::Builder::new()
                .name(format!("evloop-worker-{index}"))
                .spawn(move || worker::run(shared, index, deque))?;
            workers.threads.push(thread);
        }
        if !workers.scheduler().tuning.driver_hand_off {
            let shared = shared.clone();
            let thread = thread::Builder::new()
                .name("evloop-driver".into())
                .spawn(move || driver_thread(&shared))?;
            workers.threads.push(thread);
        }
        Ok(workers)
    }

    /// How many workers.
    pub(crate) fn count(&self) -> usize {
        self.scheduler().stealers.len()
    }

    fn scheduler(&self) -> &Scheduler {
        self.shared.multi.as_ref().expect("a multi-thread runtime")
    }

    /// Run `future` on this thread, which parks between wakes, while the
    /// workers run the tasks. Inside, `spawn`, `sleep` and sockets reach
    /// this runtime.
    ///
    /// The future is polled as the one-thread loop polls it in step 2: with
    /// a cooperative budget, traced as task 0 (`main`), its wakes traced too.
    #[track_caller]
    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        if super::context::on_any_loop_thread() || super::context::in_multi() {
            panic!(
                "cannot run the event loop from inside itself (block_on or run was called \
                 from a task or from the block_on future). Use `.await` or `evloop::spawn` \
                 instead."
            );
        }
        let shared = &self.shared;
        let _enter = super::context::enter_multi(shared.clone());
        let waker = futures_task::waker(Arc::new(MainWaker {
            thread: thread::current(),
            shared: shared.clone(),
        }));
        let mut cx = Context::from_waker(&waker);
        let mut future = std::pin::pin!(future);
        loop {
            let traced = shared.record_poll_start(0);
            let started = traced.map(|_| Instant::now());
            let polled = crate::task::coop::budgeted(|| future.as_mut().poll(&mut cx));
            if let (Some(index), Some(started)) = (traced, started) {
                let outcome = match polled {
                    Poll::Ready(_) => PollOutcome::Ready,
                    Poll::Pending => PollOutcome::Pending,
                };
                shared.record_poll_end(index, 0, outcome, started.elapsed(), Some(started));
            }
            if let Poll::Ready(output) = polled {
                return output;
            }
            // A wake that came before we park leaves a token: park returns at once.
            thread::park();
        }
    }

    /// The live tasks, by id.
    pub(crate) fn tasks(&self) -> Vec<TaskInfo> {
        self.scheduler().owned.tasks()
    }

    /// Stop the workers, then cancel every task, as the one-thread runtime's
    /// drop does: sockets first, then tasks (their destructors may wake or
    /// spawn; a spawn now is born cancelled), then timers.
    pub(crate) fn shutdown(&mut self) {
        let shared = &self.shared;
        let sched = shared.multi.as_ref().expect("a multi-thread runtime");
        sched.shutdown.store(true, Ordering::Release);
        for parker in sched.parkers.iter() {
            parker.unpark(shared);
        }
        shared.wake_reactor(); // the driver thread, if there is one
        let mut left = Vec::new();
        for thread in self.threads.drain(..) {
            match thread.join() {
                Ok(tasks) => left.extend(tasks),
                Err(payload) => std::panic::resume_unwind(payload),
            }
        }
        let _enter = super::context::enter_multi_for_drop(shared.clone());
        sched
            .driver
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .shutdown();
        shared.close();
        loop {
            let mut tasks = std::mem::take(&mut left);
            tasks.extend(sched.owned.take_all());
            tasks.extend(sched.drain_injector());
            if tasks.is_empty() {
                break;
            }
            for task in &tasks {
                task.shutdown();
            }
            drop(tasks); // outside every lock: these may be last references
        }
        sched.timers.clear();
        shared.blocking.shutdown();
    }
}
