//! `JoinHandle`: the awaitable end of a spawned task.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::raw::JoinTarget;
use super::JoinError;

/// An owned permission to await a task's output (asyncio's `Task` object).
///
/// - `handle.await` gives `Ok(output)`, or `Err(e)` with `e.is_panic()` if the
///   task panicked, or `e.is_cancelled()` if it was aborted.
/// - [`abort`](JoinHandle::abort) cancels the task (asyncio's `task.cancel()`).
///   By the time `handle.await` returns the cancellation error, the task's
///   future has been dropped — so its destructors (closing sockets, releasing
///   locks) have run.
/// - Dropping the handle *detaches* the task: it keeps running, and its output
///   is dropped when it finishes.
///
/// `JoinHandle` is `Unpin`, so it can go straight into [`select`](crate::select).
pub struct JoinHandle<T> {
    raw: Arc<dyn JoinTarget<T>>,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(raw: Arc<dyn JoinTarget<T>>) -> JoinHandle<T> {
        JoinHandle { raw }
    }

    /// Cancel the task. Its future is dropped on the loop's next turn (or
    /// never polled again if it is finished already, in which case this does
    /// nothing). Awaiting the handle afterwards gives a cancelled `JoinError`.
    pub fn abort(&self) {
        self.raw.clone().abort();
    }

    /// Has the task finished — returned, panicked, or been cancelled?
    /// Does not wait; a finished task's handle resolves at once.
    pub fn is_finished(&self) -> bool {
        self.raw.header().is_complete()
    }

    /// The task's id: `N` in `task-N`, unique within its runtime.
    pub fn id(&self) -> u64 {
        self.raw.header().id.0
    }

    /// The task's name, if it was spawned with `task::Builder::name`.
    pub fn name(&self) -> Option<&str> {
        self.raw.header().name()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.raw.poll_join(cx)
    }
}

impl<T> Drop for JoinHandle<T> {
    /// Detach: the task runs on; its output is dropped when it finishes (or
    /// now, if it already has — a panic in that drop is contained and logged).
    fn drop(&mut self) {
        self.raw.drop_join_handle();
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("task", &self.raw.header().display_name())
            .field("finished", &self.is_finished())
            .finish()
    }
}
