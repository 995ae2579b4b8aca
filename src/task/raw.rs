//! The task: a spawned future, its state, and its waker — in one allocation.
//!
//! A task is an `Arc<Task<F>>`. The run queue holds it as `Arc<dyn Runnable>`
//! (so tasks of every future type share one queue), the `JoinHandle` holds it
//! as `Arc<dyn JoinTarget<T>>` (so it can read the output), and every `Waker`
//! for it is the same `Arc` seen through `futures_task::ArcWake`. The future,
//! the output, the join waker and the flags all live in that one allocation.
//!
//! ## The state machine
//!
//! ```text
//!   spawn ──▶ Running(future) ──poll: Ready(v)────▶ Finished(Ok(v)) ──JoinHandle takes it──▶ Consumed
//!                 │  ▲  └─────poll panicked───────▶ Finished(Err(Panic))
//!                 │  └── Pending: a waker was stored somewhere; a wake re-queues the task
//!                 └──── abort(), then polled ─────▶ Finished(Err(Cancelled))   (the future is dropped here)
//! ```
//!
//! ## The `scheduled` flag
//!
//! Invariant: *a task is on the run queue at most once.* `scheduled` is true
//! from the moment the task is queued until the loop starts polling it. A wake
//! swaps it to true and only the wake that saw `false` pushes the task, so ten
//! wakes before the next poll queue it once. The loop clears the flag *before*
//! polling, so a wake that happens during the poll (`yield_now` wakes itself)
//! queues it again for the next turn. A finished task keeps the flag set
//! forever, so stale wakes of a finished task cost nothing.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use futures_task::{waker_ref, ArcWake};

use super::JoinError;
use crate::runtime::context;
use crate::runtime::shared::Shared;
use crate::trace::{EventKind, PollOutcome};

/// What every task has, whatever its future: identity, flags, and the way back
/// to its runtime's queue.
pub(crate) struct Header {
    /// Unique within the runtime, starting at 1; shown as `task-N`.
    pub(crate) id: u64,
    /// The name given by `task::Builder::name`, if any.
    pub(crate) name: Option<Box<str>>,
    /// On the run queue (or being put there). See the module doc.
    scheduled: AtomicBool,
    /// `abort()` was called: the next poll drops the future instead of polling it.
    cancelled: AtomicBool,
    /// The output is ready (or the task was cancelled); read without the lock.
    complete: AtomicBool,
    /// The runtime this task belongs to: its queue, its clock, its trace.
    shared: Arc<Shared>,
}

impl Header {
    /// `name`, or `task-N` for an unnamed task — how the trace and `Turn` print it.
    pub(crate) fn display_name(&self) -> String {
        match &self.name {
            Some(name) => name.to_string(),
            None => format!("task-{}", self.id),
        }
    }
}

/// The run queue's view of a task: "poll yourself once".
pub(crate) trait Runnable: Send + Sync {
    fn header(&self) -> &Header;
    /// Poll the future once (or drop it, if aborted). Called only by the loop.
    fn run(self: Arc<Self>) -> PollOutcome;
}

/// The `JoinHandle`'s view of a task: "give me your output when it is ready".
pub(crate) trait JoinTarget<T>: Send + Sync {
    fn header(&self) -> &Header;
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<T, JoinError>>;
    fn abort(self: Arc<Self>);
}

enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    /// The `JoinHandle` took the output.
    Consumed,
}

struct State<F: Future> {
    stage: Stage<F>,
    /// Who awaits the `JoinHandle`; woken when the task finishes.
    join_waker: Option<Waker>,
}

/// A spawned future and everything the runtime needs to drive it.
pub(crate) struct Task<F: Future> {
    header: Header,
    /// Locked only to poll the future (by the loop) or to read the output (by
    /// the `JoinHandle`); never while waking, so a wake can't deadlock with a poll.
    state: Mutex<State<F>>,
}

impl<F> Task<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    /// A new task, already marked `scheduled`: the caller queues it.
    pub(crate) fn new(
        future: F,
        id: u64,
        name: Option<Box<str>>,
        shared: Arc<Shared>,
    ) -> Arc<Self> {
        Arc::new(Task {
            header: Header {
                id,
                name,
                scheduled: AtomicBool::new(true),
                cancelled: AtomicBool::new(false),
                complete: AtomicBool::new(false),
                shared,
            },
            state: Mutex::new(State {
                stage: Stage::Running(future),
                join_waker: None,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State<F>> {
        // A panic while the lock is held is caught inside `run`, so poisoning
        // carries no meaning here: take the state as it is.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Store the result, wake whoever awaits the `JoinHandle`.
    fn finish(&self, mut state: MutexGuard<'_, State<F>>, result: Result<F::Output, JoinError>) {
        // Replacing the stage drops the future in place (if it still ran),
        // before anyone can observe the result: abort's promise.
        state.stage = Stage::Finished(result);
        let waker = state.join_waker.take();
        // Stays set for good: later wakes of a finished task are no-ops.
        self.header.scheduled.store(true, Ordering::Release);
        self.header.complete.store(true, Ordering::Release);
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
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
    fn run(self: Arc<Self>) -> PollOutcome {
        let mut state = self.lock();
        if !matches!(state.stage, Stage::Running(_)) {
            return PollOutcome::Ready; // a stale entry; nothing left to poll
        }
        // Clear *before* polling: a wake during this poll must queue us again.
        self.header.scheduled.store(false, Ordering::Release);

        if self.header.cancelled.load(Ordering::Acquire) {
            let id = self.header.id;
            self.finish(
                state,
                Err(JoinError::cancelled(id, self.header.name.clone())),
            );
            return PollOutcome::Cancelled;
        }

        let Stage::Running(future) = &mut state.stage else {
            unreachable!()
        };
        // SAFETY: the future lives inside the `Arc`'s heap allocation and is
        // never moved out of it: we only poll it here, through this lock, and
        // drop it in place (by overwriting the stage). That is what `Pin` asks.
        let future = unsafe { Pin::new_unchecked(future) };
        // `waker_ref` lends a waker that points at this very Arc: no clone, no allocation.
        let waker = waker_ref(&self);
        let mut cx = Context::from_waker(&waker);

        // A panic in the task must not take the loop down: catch it and turn
        // it into a value the JoinHandle returns (asyncio's task.exception()).
        match catch_unwind(AssertUnwindSafe(|| future.poll(&mut cx))) {
            Ok(Poll::Pending) => PollOutcome::Pending,
            Ok(Poll::Ready(output)) => {
                self.finish(state, Ok(output));
                PollOutcome::Ready
            }
            Err(payload) => {
                let id = self.header.id;
                self.finish(
                    state,
                    Err(JoinError::panic(id, self.header.name.clone(), payload)),
                );
                PollOutcome::Panicked
            }
        }
    }
    // ANCHOR_END: run
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
        let mut state = self.lock();
        match &state.stage {
            // Still running: leave the (pinned) future exactly where it is and
            // remember who to wake when it finishes.
            Stage::Running(_) => {
                match &mut state.join_waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    slot => *slot = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
            Stage::Finished(_) => match std::mem::replace(&mut state.stage, Stage::Consumed) {
                Stage::Finished(result) => Poll::Ready(result),
                _ => unreachable!(),
            },
            Stage::Consumed => panic!("a JoinHandle was polled after it returned its output"),
        }
    }

    fn abort(self: Arc<Self>) {
        if self.header.complete.load(Ordering::Acquire) {
            return;
        }
        self.header.cancelled.store(true, Ordering::Release);
        // Queue it so the loop drops the future on its next turn.
        ArcWake::wake(self);
    }
}

impl<F> ArcWake for Task<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // ANCHOR: wake
    fn wake_by_ref(arc_self: &Arc<Self>) {
        // Only the wake that flips `scheduled` from false to true queues the task.
        if !arc_self.header.scheduled.swap(true, Ordering::AcqRel) {
            let shared = &arc_self.header.shared;
            shared.wakes.fetch_add(1, Ordering::Relaxed);
            if shared.tracing() {
                let by = context::wake_source(shared);
                shared.record(EventKind::Wake {
                    task: arc_self.header.id,
                    by,
                });
            }
            shared.schedule(arc_self.clone());
        }
    }
    // ANCHOR_END: wake
}

impl Header {
    /// Has the task finished (output ready, panicked, or cancelled)?
    pub(crate) fn is_complete(&self) -> bool {
        self.complete.load(Ordering::Acquire)
    }
}
