//! The task: a spawned future, its state word, and its waker — in one allocation.
//!
//! A task is an `Arc<Task<F>>`. The run queue, the runtime's owned-task list
//! and the `JoinHandle` hold it as a one-word [`TaskRef`] (`task/header.rs`:
//! the header at the front of every task carries a table of the functions
//! below, made for `F`), and every `Waker` for it is the same `Arc` seen
//! through `futures_task::ArcWake`.
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
use std::ptr::{self, NonNull};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use futures_task::{waker_ref, ArcWake};

use super::coop;
use super::header::{Header, TaskRef, Vtable};
use super::state::{StartPoll, State, Wake, COMPLETE, JOIN_INTEREST, JOIN_WAKER};
use super::wait::{self, WaitReason};
use super::{JoinError, TaskId};
use crate::runtime::context;
use crate::runtime::log;
use crate::runtime::shared::Shared;
use crate::trace::{EventKind, PollOutcome};

/// Not yet in the runtime's owned-task list (spawned from another thread and
/// still on its way through the run queue).
pub(crate) use super::state::UNOWNED;

/// Where the task is in its life: the future, then its output, then nothing.
enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    /// The output was taken by the `JoinHandle`, or dropped.
    Consumed,
}

/// A spawned future and everything the runtime needs to drive it.
///
/// `#[repr(C)]` with the header first: a pointer to the task is a pointer to
/// its header, which is how a one-word [`TaskRef`] finds both.
#[repr(C)]
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
    /// Allocate a task, already marked `SCHEDULED`, and hand back its
    /// one-word reference: the caller queues it.
    pub(crate) fn allocate(
        future: F,
        id: TaskId,
        name: Option<Box<str>>,
        shared: Arc<Shared>,
        owned_slot: usize,
    ) -> TaskRef {
        let task = Arc::new(Task {
            header: Header::new(
                State::with_slot(owned_slot),
                &Self::VTABLE,
                id,
                name,
                shared,
            ),
            stage: UnsafeCell::new(Stage::Running(future)),
            join_waker: UnsafeCell::new(None),
        });
        Self::to_ref(task)
    }

    /// Erase the future's type: one strong reference, as one word.
    fn to_ref(task: Arc<Self>) -> TaskRef {
        let ptr = Arc::into_raw(task).cast_mut().cast::<Header>();
        // SAFETY: `Arc::into_raw` never gives null; `Task` is `#[repr(C)]`
        // with the header first, so the header's address is the task's, and
        // `VTABLE` below is the table for this very `F`.
        unsafe { TaskRef::from_raw(NonNull::new_unchecked(ptr)) }
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
                        super::describe(self.header.id().0, self.header.name())
                    ));
                }
            }
        }
    }

    fn report_output_drop_panic(&self, payload: &Box<dyn std::any::Any + Send>) {
        let header = &self.header;
        header.shared.record(EventKind::DropPanic {
            task: header.id().0,
        });
        log::warn(format_args!(
            "evloop warning: dropping the output of {} panicked ({}); nobody awaited it, \
             so the panic was contained",
            super::describe(header.id().0, header.name()),
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
                self.header.id().0,
                self.header.name_owned(),
                payload,
            )),
        };
        // SAFETY: still RUNNING; the stage was just consumed.
        unsafe { self.complete(result) };
    }
}

/// The run queue's side: poll once, or cancel at shutdown.
impl<F> Task<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // ANCHOR: run
    /// Poll the future once (or drop it, if aborted). Called only by the loop.
    /// `None`: a stale queue entry, nothing was done.
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
                // What it waits on stays in the thread-local record: the
                // loop files it with the owned task (`Core::poll_task`).
                if self.header.state.transition_to_idle() {
                    // Woken (or aborted) while it ran: it owes a place in the
                    // queue — at the back, as a yield (a worker of a
                    // multi-thread runtime sees it is the task it is running).
                    self.header.shared.schedule(Self::to_ref(self.clone()));
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
                            JoinError::panic(self.header.id().0, self.header.name_owned(), payload);
                        (Err(err), PollOutcome::Panicked)
                    }
                }
            }
            Err(payload) => {
                // Drop what is left of the future; a second panic from its
                // destructor is contained too (the first one is the story).
                // SAFETY: RUNNING: the stage is ours.
                let _ = unsafe { self.drop_stage() };
                let err = JoinError::panic(self.header.id().0, self.header.name_owned(), payload);
                (Err(err), PollOutcome::Panicked)
            }
        };
        let _ = wait::end_record();
        // SAFETY: RUNNING, and the stage was consumed just above.
        unsafe { self.complete(result) };
        Some(outcome)
    }
    // ANCHOR_END: run

    /// The runtime is going away: drop the future (if nobody is polling it and
    /// it has not finished) and complete with a cancelled `JoinError`.
    fn shutdown(&self) {
        if self.header.state.transition_to_shutdown() {
            // SAFETY: the shutdown transition granted us RUNNING.
            unsafe { self.cancel() };
        }
    }
}

/// The `JoinHandle`'s side: "give me your output when it is ready".
impl<F> Task<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<F::Output, JoinError>> {
        std::task::ready!(coop::poll_proceed(cx));
        let state = &self.header.state;
        let snapshot = state.load();
        if !snapshot.has(COMPLETE) {
            wait::record(WaitReason::Join {
                task: self.header.id().0,
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

    fn abort(self: &Arc<Self>) {
        // Like a wake: idle, it is queued so the loop drops the future on its
        // own thread; running, the loop re-queues it when the poll ends.
        let wake = self.header.state.transition_to_cancelled();
        self.after_wake(wake);
    }

    /// The `JoinHandle` is being dropped.
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
        shared.count_wake();
        if shared.tracing() {
            let by = context::wake_source(shared);
            shared.record(EventKind::Wake {
                task: self.header.id().0,
                by,
            });
        }
        if push {
            shared.schedule(Self::to_ref(self.clone()));
        }
    }
}

/// The table a [`TaskRef`] calls through: each entry turns the header pointer
/// back into this `Task<F>` and forwards to the methods above.
impl<F> Task<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    /// One table per future type, in static memory (a promoted constant).
    const VTABLE: Vtable = Vtable {
        run: Self::vt_run,
        shutdown: Self::vt_shutdown,
        poll_join: Self::vt_poll_join,
        abort: Self::vt_abort,
        drop_join_handle: Self::vt_drop_join_handle,
        clone: Self::vt_clone,
        drop_ref: Self::vt_drop_ref,
    };

    /// The task behind a header pointer.
    ///
    /// # Safety
    /// `ptr` is the header of a live `Task<F>` (this `F`), and the caller holds
    /// a reference to it for `'a`.
    unsafe fn from_header<'a>(ptr: NonNull<Header>) -> &'a Self {
        // SAFETY: the header is the first field of a `#[repr(C)]` `Task<F>`,
        // so the two addresses are the same; the caller vouches for `F`.
        unsafe { ptr.cast::<Self>().as_ref() }
    }

    unsafe fn vt_run(task: TaskRef) -> Option<PollOutcome> {
        let ptr = task.into_raw().cast::<Self>();
        // SAFETY: the `TaskRef` was one strong count of an `Arc<Task<F>>`,
        // made by `Arc::into_raw` in `to_ref`; it is handed back to an `Arc`.
        let task = unsafe { Arc::from_raw(ptr.as_ptr().cast_const()) };
        task.run()
    }

    unsafe fn vt_shutdown(ptr: NonNull<Header>) {
        // SAFETY: the caller's `TaskRef` keeps the task alive.
        unsafe { Self::from_header(ptr) }.shutdown()
    }

    unsafe fn vt_poll_join(ptr: NonNull<Header>, cx: &mut Context<'_>, out: *mut ()) {
        // SAFETY: the handle keeps the task alive.
        let polled = unsafe { Self::from_header(ptr) }.poll_join(cx);
        // SAFETY: `JoinHandle<F::Output>` passes a pointer to its own
        // `Poll<Result<F::Output, JoinError>>`, which holds `Pending` (nothing
        // to drop), so writing over it is right.
        unsafe { ptr::write(out.cast::<Poll<Result<F::Output, JoinError>>>(), polled) };
    }

    unsafe fn vt_abort(ptr: NonNull<Header>) {
        // SAFETY: the handle holds one strong count; borrow it as an `Arc`
        // without taking it over (`ManuallyDrop`: no decrement at the end).
        let task = std::mem::ManuallyDrop::new(unsafe {
            Arc::from_raw(ptr.cast::<Self>().as_ptr().cast_const())
        });
        task.abort();
    }

    unsafe fn vt_drop_join_handle(ptr: NonNull<Header>) {
        // SAFETY: the handle being dropped still keeps the task alive.
        unsafe { Self::from_header(ptr) }.drop_join_handle()
    }

    unsafe fn vt_clone(ptr: NonNull<Header>) {
        // SAFETY: `ptr` came from `Arc::into_raw` of an `Arc<Self>` that is
        // still alive (the caller holds a reference).
        unsafe { Arc::increment_strong_count(ptr.cast::<Self>().as_ptr().cast_const()) }
    }

    unsafe fn vt_drop_ref(ptr: NonNull<Header>) {
        // SAFETY: as in `vt_clone`; the caller gives its reference up here.
        unsafe { Arc::decrement_strong_count(ptr.cast::<Self>().as_ptr().cast_const()) }
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
        // owned slot in it), vtable, id-or-name, runtime pointer.
        assert_eq!(std::mem::size_of::<Header>(), 32);
    }
}
