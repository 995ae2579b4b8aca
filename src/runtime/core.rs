//! The loop thread's state: everything one turn touches.
//!
//! `Core` is owned by one thread (it is behind an `Rc`, so the compiler
//! enforces that). It holds the receiving end of the run queue, the timer
//! wheel, the reactor, the owned tasks and the counters. Only [`Shared`] —
//! what a waker needs, plus the clock and the blocking pool — is reachable
//! from other threads.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

use super::driver::reactor::Reactor;
use super::driver::timer::LocalTimers;
use super::log;
use super::owned::OwnedTasks;
use super::shared::{Ready, Shared};
use super::Metrics;
use crate::task::raw::UNOWNED;
use crate::task::state::{RUNNING, SCHEDULED};
use crate::task::{JoinHandle, TaskId, TaskInfo, TaskState, WaitReason};
use crate::trace::{EventKind, PollOutcome};

/// What the loop is doing right now; the trace reads it to say who woke a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Activity {
    /// Between steps, or not in a turn.
    Idle,
    /// Polling a task (step 1).
    Task(TaskId),
    /// Polling the `block_on` future (step 2).
    Main,
    /// Dispatching I/O events (step 4).
    Io(usize),
    /// Firing timers (step 5).
    Timers,
}

/// What `Runtime::tasks` says of one owned task: its id, name, whether it
/// runs, is queued or idle (from its state word), and what it waits on.
pub(crate) fn task_info(task: &Ready, waiting_on: WaitReason) -> TaskInfo {
    let header = task.header();
    let snapshot = header.snapshot();
    let state = if snapshot.has(RUNNING) {
        TaskState::Running
    } else if snapshot.has(SCHEDULED) {
        TaskState::Scheduled
    } else {
        TaskState::Idle
    };
    TaskInfo {
        id: header.id().0,
        name: header.display_name(),
        state,
        waiting_on,
    }
}

/// Counters kept by the loop thread (`Cell`s: no atomics needed).
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) polls: Cell<u64>,
    pub(crate) timers_fired: Cell<u64>,
    pub(crate) io_events: Cell<u64>,
    pub(crate) turns: Cell<u64>,
    pub(crate) slow_polls: Cell<u64>,
    pub(crate) longest_poll: Cell<Duration>,
}

fn bump(c: &Cell<u64>, n: u64) {
    c.set(c.get() + n);
}

/// The event loop's own state.
///
/// Its fields are private to `runtime/`: the rest of the crate reaches the
/// parts it needs through the narrow accessors below (`time` the timer
/// driver and the clock, `spawn_blocking` the pool), never the whole core.
pub(crate) struct Core {
    /// What wakers on any thread share with the loop (queue, clock, trace).
    pub(super) shared: Arc<Shared>,
    /// Consumer end of the injector (wakes from other threads; the producer
    /// end and the local queue are in `Shared`).
    pub(super) queue: Receiver<Ready>,
    /// Every task spawned and not yet finished: dropping the runtime cancels them.
    owned: RefCell<OwnedTasks>,
    /// The timer wheel: deadlines in 1 ms ticks since the runtime started,
    /// each with the waker of the `Sleep` waiting for it.
    timers: LocalTimers,
    /// Scratch space for step 5: the wakers of timers that just fired,
    /// reused every turn so firing timers allocates nothing.
    pub(super) due: RefCell<Vec<Waker>>,
    /// The OS poller and the registered sockets (step 4).
    pub(super) reactor: Reactor,
    /// The metrics only the loop updates (no atomics needed).
    pub(super) counters: Counters,
    /// What the loop is doing right now, so a wake can say who caused it.
    pub(super) activity: Cell<Activity>,
    /// `None`: polls are not timed (unless tracing) and no warning is given.
    pub(super) slow_poll_threshold: Option<Duration>,
    /// Inside `block_on` or `turn`: running the loop again would re-enter it.
    pub(super) running: Cell<bool>,
    /// The seeded generator that orders what is ready at once; `None`: FIFO
    /// (`seeded.rs`).
    pub(super) shuffle: super::seeded::Shuffler,
    /// What the `block_on` future waited on when its last poll returned
    /// `Pending` ([`WaitReason::encode`](crate::task::WaitReason)), for a
    /// hang report: it is a task in all but name, and not in the owned list.
    pub(super) main_waiting: Cell<u64>,
}

impl Core {
    pub(crate) fn new(
        shared: Arc<Shared>,
        queue: Receiver<Ready>,
        reactor: Reactor,
        slow_poll_threshold: Option<Duration>,
        shuffle: super::seeded::Shuffler,
    ) -> Core {
        Core {
            shared,
            queue,
            owned: RefCell::new(OwnedTasks::default()),
            timers: LocalTimers::new(),
            due: RefCell::new(Vec::new()),
            reactor,
            counters: Counters::default(),
            activity: Cell::new(Activity::Idle),
            slow_poll_threshold,
            running: Cell::new(false),
            shuffle,
            main_waiting: Cell::new(0),
        }
    }

    /// The shared half: queue, clock, trace (what a waker holds).
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The timer wheel, for `Sleep` to register and cancel its deadline.
    pub(crate) fn timers(&self) -> &LocalTimers {
        &self.timers
    }

    /// Wrap `future` in a task, own it, and queue it. It runs on the next turn.
    pub(crate) fn spawn<F>(&self, future: F, name: Option<Box<str>>) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        if self.shared.is_closed() {
            // A destructor spawning while the runtime is dropped: the task
            // is born cancelled, and its handle says so.
            let task = self.shared.new_task(future, name, UNOWNED);
            task.shutdown();
            return JoinHandle::new(task);
        }
        // The slot first, so the task is born knowing it.
        let mut owned = self.owned.borrow_mut();
        let slot = owned.vacant();
        let task = self.shared.new_task(future, name, slot);
        owned.fill(slot, task.clone());
        drop(owned);
        let handle = JoinHandle::new(task.clone());
        self.shared.schedule(task);
        handle
    }

    /// Poll one task from the run queue, timing the poll if timing is on.
    ///
    /// The time is *real* time even under a paused clock: the slow-poll
    /// warning is about a task that really held the thread. `started` is when
    /// this poll began (`None`: not timing); the return value is when it
    /// ended, which is where the next poll of the same batch begins.
    pub(crate) fn poll_task(
        &self,
        task: Ready,
        started: Option<Instant>,
        polled: Option<&mut Vec<String>>,
    ) -> Option<Instant> {
        let header = task.header();
        let id = header.id();
        // Spawned from another thread: the loop owns it from its first poll.
        let mut slot = header.state.owned_slot();
        if slot == UNOWNED {
            slot = self.owned.borrow_mut().insert(task.clone());
        }
        if let Some(polled) = polled {
            polled.push(header.display_name());
        }
        // `run` consumes the queue's reference to the task. Keep one more only
        // when a slow poll may have to be reported by name.
        let keep = self.slow_poll_threshold.map(|_| task.clone());
        let (outcome, took, ended) =
            self.timed_poll(id, Activity::Task(id), started, || task.run());
        if outcome == Some(PollOutcome::Pending) {
            // File what it waits on with the owned task, for `Runtime::tasks`.
            let waiting = crate::task::wait::end_record_raw();
            self.owned.borrow_mut().set_waiting(slot, waiting);
        } else if outcome.is_some() {
            // Finished: the runtime no longer owns it. Dropped after the
            // borrow ends — it may be the last reference.
            let done = self.owned.borrow_mut().remove(slot);
            drop(done);
        }
        match (self.slow_poll_threshold, keep) {
            (Some(threshold), Some(task)) if took >= threshold => {
                let header = task.header();
                let who = crate::task::describe(id.0, header.name());
                self.report_slow_poll(&who, id, took, threshold);
                // Printing the warning took time too; don't bill it to the next task.
                Some(Instant::now())
            }
            _ => ended,
        }
    }

    /// The runtime is being dropped: cancel every task it owns, and every task
    /// still on its way in through the run queue. Dropping a future runs its
    /// destructors, which may wake or spawn; a spawn now is born cancelled,
    /// and a wake queues a task we sweep on the next round.
    pub(crate) fn shutdown(&self) {
        self.shared.close();
        loop {
            let mut tasks = self.owned.borrow_mut().take_all();
            tasks.extend(self.queue.try_iter());
            tasks.extend(std::iter::from_fn(|| self.shared.pop_local()));
            if tasks.is_empty() {
                break;
            }
            for task in &tasks {
                task.shutdown();
            }
            drop(tasks); // outside every borrow: these may be last references
        }
    }

    /// Move every task woken from another thread onto the local queue.
    pub(crate) fn take_injected(&self) {
        // One at a time: `try_recv` returns each task before we push it.
        while let Ok(task) = self.queue.try_recv() {
            self.shared.push_local(task);
        }
    }

    /// The live tasks, by id, with their state and what they wait on.
    pub(crate) fn tasks(&self) -> Vec<TaskInfo> {
        let mut tasks: Vec<TaskInfo> = self
            .owned
            .borrow()
            .iter()
            .map(|(task, waiting_on)| task_info(task, waiting_on))
            .collect();
        tasks.sort_by_key(|t| t.id);
        tasks
    }

    /// Should polls be timed? Only when someone will read the times: the
    /// slow-poll warning is on, or the trace is recording.
    pub(crate) fn timing(&self) -> bool {
        self.slow_poll_threshold.is_some() || self.shared.tracing()
    }

    /// Run one poll of task `id` (0: the `block_on` future): set the activity
    /// the trace reads, time it in real time (if `started` is given), count
    /// it, and trace it.
    ///
    /// Reading the clock costs about as much as a whole `yield_now` round trip
    /// (tens of nanoseconds), so each poll reads it *once*, when it ends:
    /// the caller passes in when the poll started, which for a run of polls
    /// is the previous poll's end. Returns the outcome, the time it took
    /// (zero when not timing), and when it ended.
    pub(crate) fn timed_poll(
        &self,
        id: TaskId,
        activity: Activity,
        started: Option<Instant>,
        poll: impl FnOnce() -> Option<PollOutcome>,
    ) -> (Option<PollOutcome>, Duration, Option<Instant>) {
        let traced = self.shared.record_poll_start(id.0);
        self.activity.set(activity);
        let outcome = poll();
        self.activity.set(Activity::Idle);
        if id != TaskId::MAIN {
            bump(&self.counters.polls, 1);
        }
        // A stale queue entry did nothing; the trace still shows its (empty) poll.
        let shown = outcome.unwrap_or(PollOutcome::Ready);
        let Some(started) = started else {
            if let Some(index) = traced {
                self.shared
                    .record_poll_end(index, id.0, shown, Duration::ZERO, None);
            }
            return (outcome, Duration::ZERO, None);
        };
        let ended = Instant::now();
        let took = ended.saturating_duration_since(started);
        if took > self.counters.longest_poll.get() {
            self.counters.longest_poll.set(took);
        }
        if let Some(index) = traced {
            self.shared
                .record_poll_end(index, id.0, shown, took, Some(started));
        }
        (outcome, took, Some(ended))
    }

    /// asyncio's debug-mode "Executing `<Task>` took 0.250 seconds", made
    /// specific: who blocked, for how long, and what to do instead.
    ///
    /// `who` is how to name the culprit (`` task `fetcher` ``, `task-3`, or
    /// the `block_on` future); `id` is its task id (0 for the `block_on` future).
    pub(crate) fn report_slow_poll(
        &self,
        who: &str,
        id: TaskId,
        took: Duration,
        threshold: Duration,
    ) {
        bump(&self.counters.slow_polls, 1);
        if self.shared.tracing() {
            self.shared.record(EventKind::SlowPoll { task: id.0, took });
        }
        log::warn(format_args!(
            "evloop warning: {who} blocked the event loop for {:.3} s in one poll \
             (threshold {:.3} s); no other task ran meanwhile. Use `evloop::time::sleep` instead \
             of `std::thread::sleep`, and `evloop::spawn_blocking` for blocking or CPU-heavy work.",
            took.as_secs_f64(),
            threshold.as_secs_f64(),
        ));
    }

    pub(crate) fn metrics(&self) -> Metrics {
        let c = &self.counters;
        Metrics {
            tasks_spawned: self.shared.tasks_spawned(),
            polls: c.polls.get(),
            wakes: self.shared.wakes.load(std::sync::atomic::Ordering::Relaxed),
            timers_fired: c.timers_fired.get(),
            io_events: c.io_events.get(),
            turns: c.turns.get(),
            slow_polls: c.slow_polls.get(),
            longest_poll: c.longest_poll.get(),
        }
    }

    pub(crate) fn count_turn(&self) {
        bump(&self.counters.turns, 1);
    }

    pub(crate) fn count_timers(&self, n: usize) {
        bump(&self.counters.timers_fired, n as u64);
    }

    pub(crate) fn count_io(&self, n: usize) {
        bump(&self.counters.io_events, n as u64);
    }
}
