//! The cooperative budget: a task that always finds work still hands the thread back.
//!
//! A task gives the loop back only when a poll returns `Pending`. A task whose
//! socket always has data, or whose channel is never empty, never sees
//! `Pending`: `while let Some(x) = rx.recv().await` drains ten thousand
//! messages in one poll, and every other task — another client's message, a
//! timer that fired — waits until it is done. asyncio has the same hole: a
//! coroutine that never reaches a real suspension point holds the loop.
//!
//! The fix is tokio's `coop`: each poll of a task (and of the `block_on`
//! future) starts with a budget of [`BUDGET`] operations. Every leaf resource
//! — a socket read or write, a channel send or receive, a timer, a
//! `JoinHandle` — spends one unit when it completes. Once the budget is
//! spent, the next resource that *could* complete returns `Pending` instead,
//! after waking its own task: the task goes to the back of the run queue,
//! and everything queued before it runs first. Nothing is lost: the data is
//! still there at the next poll.
//!
//! The budget lives in a thread-local, set around each poll by the loop. This
//! file imports nothing from the crate, so the leaves (`net`, `sync`, `time`)
//! may call it.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Operations per poll (tokio uses 128 too): enough that a busy task rarely
/// pays for a yield, few enough that no poll holds the thread for long.
pub const BUDGET: u8 = 128;

thread_local! {
    /// `None`: no budget (outside a task's poll, or `unconstrained`).
    static LEFT: Cell<Option<u8>> = const { Cell::new(None) };
}

/// Puts the previous budget back when dropped (also when a poll panics).
struct Restore(Option<u8>);

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = LEFT.try_with(|left| left.set(self.0));
    }
}

/// Run one poll of a task with a fresh budget.
#[inline]
pub(crate) fn budgeted<R>(f: impl FnOnce() -> R) -> R {
    let _restore = Restore(LEFT.with(|left| left.replace(Some(BUDGET))));
    f()
}

/// Run `f` outside the budget (the timer inside `timeout`, `unconstrained`).
#[inline]
pub(crate) fn unbudgeted<R>(f: impl FnOnce() -> R) -> R {
    let _restore = Restore(LEFT.with(|left| left.replace(None)));
    f()
}

/// A resource is about to try an operation. `Ready`: go ahead (then call
/// [`spend`] if it completes). `Pending`: the budget is spent; the task has
/// been woken so it runs again next turn, and the resource must return
/// `Pending` without doing anything.
#[inline]
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    match LEFT.try_with(Cell::get).ok().flatten() {
        Some(0) => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        _ => Poll::Ready(()),
    }
}

/// Is the budget of the current poll spent? (A combinator polling many
/// children, like `join_all`, stops there instead of polling each one just
/// to hear `Pending`.)
#[inline]
pub(crate) fn exhausted() -> bool {
    LEFT.try_with(Cell::get).ok().flatten() == Some(0)
}

/// The operation completed: one unit of the budget is spent.
#[inline]
pub(crate) fn spend() {
    let _ = LEFT.try_with(|left| {
        if let Some(n) = left.get() {
            left.set(Some(n.saturating_sub(1)));
        }
    });
}

/// Run `future` without a budget: its resources never make it yield
/// (tokio's `task::unconstrained`). For code that must not be interrupted
/// between operations — and for showing what the budget prevents.
///
/// ```
/// evloop::run(async {
///     let (tx, mut rx) = evloop::sync::mpsc::unbounded_channel();
///     for i in 0..1000 {
///         tx.send(i).unwrap();
///     }
///     drop(tx);
///     // All 1,000 in one poll: nothing else runs meanwhile.
///     let sum = evloop::task::unconstrained(async move {
///         let mut sum = 0;
///         while let Some(i) = rx.recv().await {
///             sum += i;
///         }
///         sum
///     })
///     .await;
///     assert_eq!(sum, 499_500);
/// });
/// ```
pub fn unconstrained<F: Future>(future: F) -> Unconstrained<F> {
    Unconstrained { future }
}

/// The future returned by [`unconstrained`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` them"]
pub struct Unconstrained<F> {
    future: F,
}

impl<F: Future> Future for Unconstrained<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // ANCHOR: unconstrained_pin
        // SAFETY: `future` is structurally pinned: it is never moved out of
        // `self`, and `Unconstrained` has no `Drop` impl that could move it.
        let future = unsafe { self.map_unchecked_mut(|this| &mut this.future) };
        // ANCHOR_END: unconstrained_pin
        unbudgeted(|| future.poll(cx))
    }
}
