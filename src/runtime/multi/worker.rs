//! One worker thread: find a task, run it, and when there is none, steal or sleep.
//!
//! Each worker owns a deque of ready tasks (crossbeam-deque's `Worker`:
//! the owner pushes and pops at its end without a lock, other threads steal
//! from the far end) and a **LIFO slot**: a task woken by the task running
//! now (a channel's receiver, the other end of a ping-pong) goes there and
//! runs *next*, while its data is still in this core's cache — at most
//! [`MAX_LIFO_POLLS`] times in a row, so two tasks handing a message back and
//! forth cannot starve the rest of the deque.
//!
//! Where the next task comes from, in order:
//!
//! 1. every [`GLOBAL_INTERVAL`] tasks, the **injector** first (tasks from
//!    outside the workers: the `block_on` thread, a blocking job), so it
//!    is never starved by a worker that always has local work;
//! 2. the LIFO slot, then this worker's deque, then the injector;
//! 3. **stealing**: up to half of another worker's deque (crossbeam takes at
//!    most 32 at once), starting at a random victim, into this one's;
//! 4. nothing anywhere: sleep (`park.rs`), maybe in the reactor.

use std::cell::Cell;
use std::sync::atomic::{fence, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crossbeam_deque::{Steal, Worker};

use super::super::shared::{Ready, Shared};
use super::Scheduler;
use crate::runtime::context;
use crate::runtime::core::Activity;
use crate::runtime::rng::Rng;
use crate::trace::{EventKind, PollOutcome, WakeSource};

/// Check the injector first every this many tasks (tokio uses 31 too).
pub(super) const GLOBAL_INTERVAL: u32 = 31;
/// Poll the reactor without waiting every this many tasks (tokio: 61).
pub(super) const EVENT_INTERVAL: u32 = 61;
/// At most this many tasks in a row from the LIFO slot (tokio: 3).
pub(super) const MAX_LIFO_POLLS: u32 = 3;

/// What only this worker's thread touches.
pub(super) struct Local {
    /// Which runtime (its `Shared::id`) and which worker of it.
    runtime: usize,
    pub(super) index: usize,
    /// This worker's deque; its `Stealer` is in the scheduler.
    pub(super) deque: Worker<Ready>,
    /// The task to run next, if the running one just woke it.
    lifo: Cell<Option<Ready>>,
    /// Tasks taken from the LIFO slot in a row.
    lifo_polls: Cell<u32>,
    /// What the worker is doing, so a wake can say who caused it (the trace).
    activity: Cell<Activity>,
}

thread_local! {
    /// This thread's worker, while it runs: a pointer to the `Local` on the
    /// stack of [`run`] (null elsewhere).
    static CURRENT: Cell<*const Local> = const { Cell::new(std::ptr::null()) };
}

/// Run `f` with this thread's worker, if it is one of runtime `runtime`'s.
#[inline]
fn with_local<R>(runtime: usize, f: impl FnOnce(&Local) -> R) -> Option<R> {
    let ptr = CURRENT.try_with(Cell::get).ok()?;
    if ptr.is_null() {
        return None;
    }
    // SAFETY: `CURRENT` is non-null only while `run` is on this thread's
    // stack, where the `Local` it points to lives (the guard in `run` resets
    // it before the `Local` is dropped); only this thread reads it.
    let local = unsafe { &*ptr };
    (local.runtime == runtime).then(|| f(local))
}

/// The index of this thread's worker, if it works for runtime `runtime`.
pub(crate) fn current_index(runtime: usize) -> Option<usize> {
    with_local(runtime, |local| local.index)
}

/// Is this thread a worker of any multi-thread runtime?
pub(crate) fn is_worker_thread() -> bool {
    CURRENT.try_with(|c| !c.get().is_null()).unwrap_or(false)
}

/// Note what this worker is doing (for the trace's "woken by").
pub(super) fn set_activity(activity: Activity) {
    let _ = CURRENT.try_with(|c| {
        let ptr = c.get();
        if !ptr.is_null() {
            // SAFETY: as in `with_local`.
            unsafe { &*ptr }.activity.set(activity);
        }
    });
}

/// Who is waking a task of runtime `runtime`, if this thread is its worker.
pub(super) fn wake_source(runtime: usize) -> Option<WakeSource> {
    with_local(runtime, |local| match local.activity.get() {
        Activity::Task(id) => WakeSource::Task(id.0),
        Activity::Main => WakeSource::Main,
        Activity::Timers => WakeSource::Timer,
        Activity::Io(token) => WakeSource::Io(token),
        Activity::Idle => WakeSource::Runtime,
    })
}

/// Queue `task` on this thread's worker, if it is one of `runtime`'s; else
/// hand it back. A plain wake goes in the LIFO slot (its occupant moves to
/// the deque); a yield goes to the back of the deque. True in `Ok` when the
/// deque grew: another worker could steal now.
pub(super) fn push_local(runtime: usize, task: Ready, is_yield: bool) -> Result<bool, Ready> {
    let ptr = CURRENT.try_with(Cell::get).unwrap_or(std::ptr::null());
    if ptr.is_null() {
        return Err(task);
    }
    // SAFETY: as in `with_local`.
    let local = unsafe { &*ptr };
    if local.runtime != runtime {
        return Err(task);
    }
    // The task this worker is running woke itself (`yield_now`): a yield.
    let is_yield = is_yield || local.activity.get() == Activity::Task(task.header().id());
    // ANCHOR: lifo_slot
    if is_yield {
        local.deque.push(task);
        return Ok(true);
    }
    match local.lifo.replace(Some(task)) {
        Some(previous) => {
            local.deque.push(previous);
            Ok(true)
        }
        None => Ok(false),
    }
    // ANCHOR_END: lifo_slot
}

/// Resets `CURRENT` when the worker's loop ends (or unwinds).
struct Registered;

impl Drop for Registered {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(std::ptr::null()));
    }
}

/// The worker thread's body: run until the runtime shuts down, then hand
/// back what is left in this worker's queues, for the runtime to cancel.
pub(super) fn run(shared: Arc<Shared>, index: usize, deque: Worker<Ready>) -> Vec<Ready> {
    let sched = shared
        .multi
        .as_ref()
        .expect("a worker of a multi-thread runtime");
    let _enter = context::enter_multi(shared.clone());
    let local = Local {
        runtime: shared.id,
        index,
        deque,
        lifo: Cell::new(None),
        lifo_polls: Cell::new(0),
        activity: Cell::new(Activity::Idle),
    };
    CURRENT.with(|c| c.set(&local));
    let registered = Registered;
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15 ^ index as u64);
    let mut tick: u32 = 0;
    let mut searching = false;
    while !sched.is_shutdown() {
        // A task from the LIFO slot does not count as a tick (tokio's rule):
        // a ping-pong would otherwise poll the reactor three times as often,
        // each time a syscall that finds nothing.
        if local.lifo_polls.get() == 0 {
            tick = tick.wrapping_add(1);
            if tick % EVENT_INTERVAL == 0 {
                sched.maintain(&shared);
            }
        }
        let mut task = next_task(sched, &local, tick);
        if task.is_none() {
            if !searching {
                searching = sched.idle.transition_worker_to_searching();
            }
            if searching {
                task = steal(&shared, sched, &local, &mut rng);
            }
        }
        if let Some(task) = task {
            if std::mem::take(&mut searching) && sched.idle.transition_worker_from_searching() {
                // The last searcher found work: there may be more; wake a sleeper.
                sched.notify_parked(&shared);
            }
            run_task(&shared, sched, &local, task);
            continue;
        }
        // Nothing anywhere: sleep.
        searching = park(&shared, sched, &local, searching);
    }
    drop(registered);
    let mut left: Vec<Ready> = local.lifo.take().into_iter().collect();
    left.extend(std::iter::from_fn(|| local.deque.pop()));
    left
}

/// Steps 1 and 2 of the module doc.
// ANCHOR: next_task
fn next_task(sched: &Scheduler, local: &Local, tick: u32) -> Option<Ready> {
    if tick % GLOBAL_INTERVAL == 0 {
        if let Some(task) = sched.pop_injector(&local.deque) {
            return Some(task);
        }
    }
    if local.lifo_polls.get() < MAX_LIFO_POLLS {
        if let Some(task) = local.lifo.take() {
            local.lifo_polls.set(local.lifo_polls.get() + 1);
            return Some(task);
        }
    } else if let Some(task) = local.lifo.take() {
        // Enough in a row: the slot's task waits its turn in the deque.
        local.deque.push(task);
    }
    local.lifo_polls.set(0);
    local
        .deque
        .pop()
        .or_else(|| sched.pop_injector(&local.deque))
}
// ANCHOR_END: next_task

/// Step 3: steal from the other workers, starting at a random one.
fn steal(shared: &Shared, sched: &Scheduler, local: &Local, rng: &mut Rng) -> Option<Ready> {
    let workers = sched.stealers.len();
    let start = rng.below(workers as u64) as usize;
    for i in 0..workers {
        let victim = (start + i) % workers;
        if victim == local.index {
            continue;
        }
        loop {
            // ANCHOR: steal_half
            let stolen = if sched.tuning.steal_half {
                sched.stealers[victim].steal_batch_and_pop(&local.deque)
            } else {
                sched.stealers[victim].steal()
            };
            // ANCHOR_END: steal_half
            match stolen {
                Steal::Success(task) => {
                    sched.counters[local.index].steals.bump();
                    if shared.tracing() {
                        shared.record(EventKind::Steal {
                            from: victim,
                            to: local.index,
                            tasks: local.deque.len() + 1,
                        });
                    }
                    return Some(task);
                }
                Steal::Empty => break,
                Steal::Retry => continue,
            }
        }
    }
    sched.pop_injector(&local.deque)
}

/// Poll one task: own it if it came from outside, run it, file what it
/// waits on or stop owning it.
fn run_task(shared: &Shared, sched: &Scheduler, local: &Local, task: Ready) {
    let header = task.header();
    let id = header.id();
    let mut slot = header.state.owned_slot();
    if slot == crate::task::raw::UNOWNED {
        slot = sched.owned.insert(local.index, task.clone());
    }
    let traced = shared.record_poll_start(id.0);
    let started = traced.is_some().then(Instant::now);
    local.activity.set(Activity::Task(id));
    let outcome = task.run();
    local.activity.set(Activity::Idle);
    sched.counters[local.index].polls.bump();
    if let (Some(index), Some(started)) = (traced, started) {
        let shown = outcome.unwrap_or(PollOutcome::Ready);
        shared.record_poll_end(index, id.0, shown, started.elapsed(), Some(started));
    }
    match outcome {
        Some(PollOutcome::Pending) => {
            sched
                .owned
                .set_waiting(slot, crate::task::wait::end_record_raw());
        }
        Some(_) => drop(sched.owned.remove(slot)),
        None => {}
    }
}

/// Step 4. Returns whether the worker comes back searching.
fn park(shared: &Shared, sched: &Scheduler, local: &Local, searching: bool) -> bool {
    // ANCHOR: last_searcher
    if sched
        .idle
        .transition_worker_to_parked(local.index, searching)
    {
        // The last searcher to sleep: a task queued while we searched may
        // have woken nobody (its pusher saw us searching). Look once more;
        // if there is work, wake a sleeper — maybe ourselves. The fence
        // pairs with the one after an injector push (`Scheduler::schedule`).
        fence(Ordering::SeqCst);
        if sched.has_work() {
            sched.notify_parked(shared);
        }
    }
    // ANCHOR_END: last_searcher
    loop {
        if sched.is_shutdown() {
            return false;
        }
        if let Some(polled) = sched.parkers[local.index].park(shared, &sched.driver) {
            sched.count_driver(local.index, &polled);
        }
        // The reactor or a timer gave us tasks: run them — not searching,
        // unless a notify also woke us (it counted us as a searcher).
        if local.lifo_has_task() || !local.deque.is_empty() {
            return !sched.idle.unpark_worker_by_id(local.index);
        }
        // Still listed as asleep: spurious, or the driver fired nothing for
        // us. Sleep again. Not listed: a notify woke us, as a searcher.
        if !sched.idle.is_parked(local.index) {
            return true;
        }
    }
}

impl Local {
    fn lifo_has_task(&self) -> bool {
        let task = self.lifo.take();
        let has = task.is_some();
        self.lifo.set(task);
        has
    }
}
