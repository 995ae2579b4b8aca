//! The task: a spawned future, its state word, and its waker — in one allocation.
//!
//! A task is an `Arc<Task<F>>`. The run queue and the runtime's owned-task
//! list hold it as `Arc<dyn Runnable>` (so tasks of every future type share one
//! queue), the `JoinHandle` holds it as `Arc<dyn JoinTarget<T>>` (so it can
//! read the output), and every `Waker` for it is the same `Arc` seen through
//! `futures_task::ArcWake`.
//!
//! There is no lock. Who may touch the future, the output and the join waker
//! is decided by the task's [state word](super::state): the loop owns the
//! stage while `RUNNING`; the `JoinHandle` owns the output once `COMPLETE`;
//! the join waker slot changes hands through `JOIN_WAKER`. The chapter on the
//! task draws the transitions as a table.
//!
//! ```text
//!   spawn ──▶ Running(future) ──poll: Ready(v)────▶ Finished(Ok(v)) ──JoinHandle takes it──▶ Consumed
//!                 │  ▲  └─────poll panicked───────▶ Finished(Err(Panic))
//!                 │  └── Pending: a waker was stored somewhere; a wake re-queues the task
//!                 └──── abort(), or the runtime dropped ──▶ Finished(Err(Cancelled))   (the future is dropped here)
//! ```
//!
//! Every drop of a future or an output runs inside `catch_unwind`: a
//! destructor that panics is contained exactly as a `poll` that panics is.

use std::cell::UnsafeCell;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use futures_task::{waker_ref, ArcWake};

use super::coop;
use super::state::{Snapshot, StartPoll, State, Wake, COMPLETE, JOIN_INTEREST, JOIN_WAKER};
use super::wait::{self, WaitReason};
use super::{JoinError, TaskId};
use crate::runtime::context;
use crate::runtime::log;
use crate::runtime::shared::Shared;
use crate::trace::{EventKind, PollOutcome};

/// Not yet in the runtime's owned-task list (spawned from another thread and
/// still on its way through the run queue).
pub(crate) use super::state::UNOWNED;

/// What every task has, whatever its future: identity, state word, and the way
/// back to its runtime's queue.
pub(crate) struct Header {
    /// Who may touch what: see `task/state.rs`.
    pub(crate) state: State,
    /// Unique within the runtime, starting at 1; shown as `task-N`.
    pub(crate) id: TaskId,
    /// The name given by `task::Builder::name`, if any. Boxed twice so that
    /// an unnamed task pays one pointer for it, not a fat one: a million
    /// tasks are a million headers.
    name: Option<Box<Box<str>>>,
    /// What the task waited on after its last `Pending` poll, encoded
    /// ([`WaitReason::encode`]); written by the loop after each poll.
    waiting: AtomicU64,
    /// The runtime this task belongs to: its queue, its clock, its trace.
    pub(crate) shared: Arc<Shared>,
}

impl Header {
    /// `name`, or `task-N` for an unnamed task — how the trace and `Turn` print it.
    pub(crate) fn display_name(&self) -> String {
        match self.name() {
            Some(name) => name.to_string(),
            None => format!("task-{}", self.id.0),
        }
    }

    /// The task's name, if it has one.
    pub(crate) fn name(&self) -> Option<&str> {
        self.name.as_deref().map(|name| &**name)
    }

    /// The name, as a `JoinError` keeps it.
    fn name_owned(&self) -> Option<Box<str>> {
        self.name().map(Box::from)
    }

    /// Has the task finished (output ready, panicked, or cancelled)?
    pub(crate) fn is_complete(&self) -> bool {
        self.state.load().has(COMPLETE)
    }

    /// The state word right now, for reports.
    pub(crate) fn snapshot(&self) -> Snapshot {
        self.state.load()
    }

    /// What the task waits on, as recorded after its last poll.
    pub(crate) fn waiting(&self) -> WaitReason {
        WaitReason::decode(self.waiting.load(Ordering::Relaxed))
    }

    fn cancelled_error(&self) -> JoinError {
        JoinError::cancelled(self.id.0, self.name_owned())
    }
}

/// The run queue's view of a task: "poll yourself once".
pub(crate) trait Runnable: Send + Sync {
    fn header(&self) -> &Header;
    /// Poll the future once (or drop it, if aborted). Called only by the loop.
    /// `None`: a stale queue entry, nothing was done.
    fn run(self: Arc<Self>) -> Option<PollOutcome>;
    /// The runtime is going away: drop the future (if nobody is polling it and
    /// it has not finished) and complete with a cancelled `JoinError`.
    fn shutdown(&self);
}

/// The `JoinHandle`'s view of a task: "give me your output when it is ready".
pub(crate) trait JoinTarget<T>: Send + Sync {
    fn header(&self) -> &Header;
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<T, JoinError>>;
    fn abort(self: Arc<Self>);
    /// The `JoinHandle` is being dropped.
    fn drop_join_handle(&self);
}

enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    /// The output was taken by the `JoinHandle`, or dropped.
    Consumed,
}

/// A spawned future and everything the runtime needs to drive it.
pub(crate) struct Task<F: Future> {
    header: Header,
    /// The future, then its output. Touched only by whoever the state word
    /// says owns it (see the module doc).
    stage: UnsafeCell<Stage<F>>,
    /// Who awaits the `JoinHandle`; handed between the handle and the loop by
    /// the `JOIN_WAKER` flag.
    join_waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the `UnsafeCell`s are only accessed by the one party the state word
// grants them to (the loop while `RUNNING`, the `JoinHandle` once `COMPLETE`,
// the join waker slot by `JOIN_WAKER`), and every grant is an atomic
// transition with acquire/release ordering. The future and its output are
// `Send`, so whichever thread is granted them may use and drop them.
unsafe impl<F: Future + Send> Sync for Task<F> where F::Output: Send {}

impl<F> Task<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    /// A new task, already marked `SCHEDULED`: the caller queues it.
    pub(crate) fn new(
        future: F,
        id: TaskId,
        name: Option<Box<str>>,
        shared: Arc<Shared>,
        owned_slot: usize,
    ) -> Arc<Self> {
        Arc::new(Task {
            header: Header {
                state: State::with_slot(owned_slot),
                id,
                name: name.map(Box::new),
                waiting: AtomicU64::new(0),
                shared,
            },
            stage: UnsafeCell::new(Stage::Running(future)),
            join_waker: UnsafeCell::new(None),
        })
    }

    /// Drop the future (or whatever the stage holds) in place, catching a
    /// panic from its destructor. The stage is `Consumed` afterwards either way.
    ///
    /// # Safety
    /// The caller must own the stage (the loop while `RUNNING`, or the
    /// `JoinHandle` once `COMPLETE`).
    // ANCHOR: drop_stage
    unsafe fn drop_stage(&self) -> Result<(), Box<dyn std::any::Any + Send>> {
        let stage = self.stage.get();
        // In place, never moved out first: a pinned future must be dropped
        // where it lives. If the destructor panics, drop glue still drops the
        // rest, so afterwards the place holds nothing and is overwritten
        // without dropping it again.
        // SAFETY: the caller owns the stage; `stage` is valid and initialised.
        let result = catch_unwind(AssertUnwindSafe(|| unsafe { ptr::drop_in_place(stage) }));
        // SAFETY: the old value was dropped just above (fully, or as far as a
        // panicking destructor got), so writing without dropping is right.
        unsafe { ptr::write(stage, Stage::Consumed) };
        result
    }
    // ANCHOR_END: drop_stage

    /// The future is gone (dropped or finished): store the result, mark the
    /// task complete, then either wake the `JoinHandle`'s waker or — when no
    /// handle exists — drop the output right here.
    ///
    /// # Safety
    /// The caller must hold `RUNNING` and the stage must be `Consumed`.
    unsafe fn complete(&self, result: Result<F::Output, JoinError>) {
        // SAFETY: we own the stage (RUNNING), and it holds nothing to drop.
        unsafe { ptr::write(self.stage.get(), Stage::Finished(result)) };
        let before = self.header.state.transition_to_complete();
        if !before.has(JOIN_INTEREST) {
            // Nobody will read the output: drop it now, on the loop.
            // SAFETY: complete without join interest: the stage is ours.
            if let Err(payload) = unsafe { self.drop_stage() } {
                self.report_output_drop_panic(&payload);
            }
        } else if before.has(JOIN_WAKER) {
            // SAFETY: `JOIN_WAKER` was set when we completed, so the handle
            // has stopped writing the slot; we only read it.
            let waker = unsafe { &*self.join_waker.get() };
            if let Some(waker) = waker {
                if catch_unwind(AssertUnwindSafe(|| waker.wake_by_ref())).is_err() {
                    log::warn(format_args!(
                        "evloop warning: the waker of the task awaiting {} panicked; ignored",
                        super::describe(self.header.id.0, self.header.name())
                    ));
                }
            }
        }
    }

    fn report_output_drop_panic(&self, payload: &Box<dyn std::any::Any + Send>) {
        let header = &self.header;
        header
            .shared
            .record(EventKind::DropPanic { task: header.id.0 });
        log::warn(format_args!(
            "evloop warning: dropping the output of {} panicked ({}); nobody awaited it, \
             so the panic was contained",
            super::describe(header.id.0, header.name()),
            super::panic_message(payload.as_ref()).unwrap_or("no message"),
        ));
    }

    /// Drop the future of a cancelled task and complete it with the reason.
    ///
    /// # Safety
    /// The caller must hold `RUNNING` (or the shutdown grant).
    unsafe fn cancel(&self) {
        // SAFETY: forwarded from the caller.
        let result = match unsafe { self.drop_stage() } {
            Ok(()) => Err(self.header.cancelled_error()),
            // A destructor panicked while cancelling: the handle learns of it.
            Err(payload) => Err(JoinError::panic(
                self.header.id.0,
                self.header.name_owned(),
                payload,
            )),
        };
        // SAFETY: still RUNNING; the stage was just consumed.
        unsafe { self.complete(result) };
    }
}

impl<F> Runnable for Task<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn header(&self) -> &Header {
        &self.header
    }

    // ANCHOR: run
    fn run(self: Arc<Self>) -> Option<PollOutcome> {
        match self.header.state.transition_to_running() {
            StartPoll::Done => return None,
            StartPoll::Cancel => {
                // SAFETY: we hold RUNNING.
                unsafe { self.cancel() };
                return Some(PollOutcome::Cancelled);
            }
            StartPoll::Poll => {}
        }
        // ANCHOR: pin_task
        // SAFETY: we hold RUNNING, so the stage is ours; while RUNNING it is
        // `Running(future)` (it leaves that stage only under RUNNING, at
        // completion, after which the task is never polled again).
        let Stage::Running(future) = (unsafe { &mut *self.stage.get() }) else {
            unreachable!("a task is polled only while its stage holds the future")
        };
        // SAFETY: the future lives inside the `Arc`'s heap allocation and is
        // never moved out of it: it is polled here and dropped in place
        // (`drop_stage`). That is what `Pin` asks.
        let future = unsafe { Pin::new_unchecked(future) };
        // ANCHOR_END: pin_task
        // `waker_ref` lends a waker that points at this very Arc: no clone, no allocation.
        let waker = waker_ref(&self);
        let mut cx = Context::from_waker(&waker);
        wait::begin_record();

        // A panic in the task must not take the loop down: catch it and turn
        // it into a value the JoinHandle returns (asyncio's task.exception()).
        // Each poll starts with a fresh cooperative budget (`task/coop.rs`).
        let polled = catch_unwind(AssertUnwindSafe(|| coop::budgeted(|| future.poll(&mut cx))));
        let (result, outcome) = match polled {
            Ok(Poll::Pending) => {
                let reason = wait::end_record();
                self.header
                    .waiting
                    .store(reason.encode(), Ordering::Relaxed);
                if self.header.state.transition_to_idle() {
                    // Woken (or aborted) while it ran: it owes a place in the queue.
                    self.header.shared.schedule(self.clone());
                }
                return Some(PollOutcome::Pending);
            }
            // The future is finished, but still has to be dropped — and its
            // destructor may panic too. Then the output is dropped as well
            // (carefully) and the handle gets the destructor's panic.
            Ok(Poll::Ready(output)) => {
                // SAFETY: RUNNING: the stage is ours.
                match unsafe { self.drop_stage() } {
                    Ok(()) => (Ok(output), PollOutcome::Ready),
                    Err(payload) => {
                        let _ = catch_unwind(AssertUnwindSafe(move || drop(output)));
                        let err =
                            JoinError::panic(self.header.id.0, self.header.name_owned(), payload);
                        (Err(err), PollOutcome::Panicked)
                    }
                }
            }
            Err(payload) => {
                // Drop what is left of the future; a second panic from its
                // destructor is contained too (the first one is the story).
                // SAFETY: RUNNING: the stage is ours.
                let _ = unsafe { self.drop_stage() };
                let err = JoinError::panic(self.header.id.0, self.header.name_owned(), payload);
                (Err(err), PollOutcome::Panicked)
            }
        };
        let _ = wait::end_record();
        // SAFETY: RUNNING, and the stage was consumed just above.
        unsafe { self.complete(result) };
        Some(outcome)
    }
    // ANCHOR_END: run

    fn shutdown(&self) {
        if self.header.state.transition_to_shutdown() {
            // SAFETY: the shutdown transition granted us RUNNING.
            unsafe { self.cancel() };
        }
    }
}

impl<F> JoinTarget<F::Output> for Task<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn header(&self) -> &Header {
        &self.header
    }

    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<F::Output, JoinError>> {
        std::task::ready!(coop::poll_proceed(cx));
        let state = &self.header.state;
        let snapshot = state.load();
        if !snapshot.has(COMPLETE) {
            wait::record(WaitReason::Join {
                task: self.header.id.0,
            });
            if snapshot.has(JOIN_WAKER) {
                // SAFETY: with JOIN_WAKER set the task may *read* the slot
                // (at completion); reading it here too is a shared read.
                let stored = unsafe { &*self.join_waker.get() };
                if stored.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    return Poll::Pending;
                }
                // Take the slot back before writing it.
                if state.unset_join_waker().is_err() {
                    coop::spend();
                    return Poll::Ready(self.take_output());
                }
            }
            // SAFETY: JOIN_WAKER is clear and the task is not complete: the
            // slot is ours until we set JOIN_WAKER.
            let old = unsafe { (*self.join_waker.get()).replace(cx.waker().clone()) };
            let handed = state.set_join_waker();
            // Dropped only now: a waker's drop may run a whole task's destructors.
            drop(old);
            if handed.is_ok() {
                return Poll::Pending;
            }
            // Completed while we stored the waker: the output is ready.
        }
        coop::spend();
        Poll::Ready(self.take_output())
    }

    fn abort(self: Arc<Self>) {
        // Like a wake: idle, it is queued so the loop drops the future on its
        // own thread; running, the loop re-queues it when the poll ends.
        let wake = self.header.state.transition_to_cancelled();
        self.after_wake(wake);
    }

    fn drop_join_handle(&self) {
        match self.header.state.unset_join_interest() {
            Ok(before) => {
                if before.has(JOIN_WAKER) {
                    // We cleared JOIN_WAKER with the interest: the slot is ours again.
                    // SAFETY: JOIN_WAKER is clear and the task not complete.
                    let old = unsafe { (*self.join_waker.get()).take() };
                    drop(old);
                }
            }
            // Complete already: the output is ours, and nobody will read it.
            Err(_) => {
                // SAFETY: COMPLETE with JOIN_INTEREST (ours): the stage is ours.
                if let Err(payload) = unsafe { self.drop_stage() } {
                    self.report_output_drop_panic(&payload);
                }
            }
        }
    }
}

impl<F> Task<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    /// The handle saw `COMPLETE`: the output is the handle's to take.
    fn take_output(&self) -> Result<F::Output, JoinError> {
        // SAFETY: COMPLETE was observed with acquire ordering, and the join
        // interest is ours (the handle is alive): the stage is ours alone.
        match unsafe { ptr::replace(self.stage.get(), Stage::Consumed) } {
            Stage::Finished(result) => result,
            _ => panic!("a JoinHandle was polled after it returned its output"),
        }
    }
}

impl<F> Task<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    /// A wake (or abort) changed the state word: count it, trace who did it,
    /// and push the task if it was idle.
    #[inline]
    fn after_wake(self: &Arc<Self>, wake: Wake) {
        let push = match wake {
            Wake::Nothing => return,
            Wake::Owed => false,
            Wake::Push => true,
        };
        let shared = &self.header.shared;
        shared.wakes.fetch_add(1, Ordering::Relaxed);
        if shared.tracing() {
            let by = context::wake_source(shared);
            shared.record(EventKind::Wake {
                task: self.header.id.0,
                by,
            });
        }
        if push {
            shared.schedule(self.clone());
        }
    }
}

impl<F> ArcWake for Task<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // ANCHOR: wake
    fn wake_by_ref(arc_self: &Arc<Self>) {
        let wake = arc_self.header.state.transition_to_scheduled();
        arc_self.after_wake(wake);
    }
    // ANCHOR_END: wake
}

#[cfg(all(test, not(feature = "loom")))]
mod tests {
    use super::*;

    #[test]
    fn a_task_header_stays_small() {
        // A million parked tasks are a million headers: state word (with the
        // owned slot in it), id, thin name, wait reason, runtime pointer.
        assert_eq!(std::mem::size_of::<Header>(), 40);
    }
}
